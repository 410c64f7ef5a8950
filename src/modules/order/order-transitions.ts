import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { OrderCancelled, OrderConfirmed, OrderLinePayload, OrderRejected, OrderRejectionReason } from '../../contracts';
import { Cause } from '../../platform/kafka/cause';
import { BatchTransaction } from '../../platform/kafka/batch-transaction';
import { event, Outbox, PendingEvent } from '../../platform/kafka/outbox';
import { canTransition, ORDER_STATUSES, OrderStatus } from './order-status';
import { ORDER_SCHEMA as S } from './order.schema';

interface TransitionRow {
  previous: OrderStatus;
  applied: boolean;
  customer_email: string;
  total_cents: string;
  created_at: Date;
  now: Date;
  items: OrderLinePayload[];
}

export type Transition =
  | { to: 'CONFIRMED' }
  | { to: 'REJECTED'; reason: OrderRejectionReason; skus: string[] }
  | { to: 'CANCELLED' };

export interface TransitionCause extends Cause {
  /** The event that caused the change; null for a request or a timer. */
  eventId: string | null;
}

export type TransitionOutcome = { applied: true } | { applied: false; from: OrderStatus | null };

/**
 * Moves an order to a new status under a row lock: checks the status machine, records the audit
 * trail and writes the resulting event to the outbox, all in the caller's transaction, with one
 * statement (the outbox row joins the run's, or is a second one for a request or a timer).
 */
@Injectable()
export class OrderTransitions {
  private readonly logger = new Logger(OrderTransitions.name);

  constructor(private readonly outbox: Outbox) {}

  async apply(m: EntityManager, orderId: string, transition: Transition, cause: TransitionCause): Promise<TransitionOutcome> {
    const id = orderId.toLowerCase();
    const run = BatchTransaction.sharedOn(m);
    const orders = run?.readForKeys(m, `${S}.0-orders`, id, (ids) => lockOrders(m, ids));
    if (run && orders) {
      // Written with one statement just before the run commits.
      const changes = run.beforeCommit(m, `${S}.1-transitions`, () => [] as Change[], writeChanges);
      return this.applyInRun(m, { orders: await orders, changes }, id, transition, cause);
    }
    const reason = transition.to === 'REJECTED' ? transition.reason : null;
    const from = ORDER_STATUSES.filter((s) => canTransition(s, transition.to));
    // One round trip: the order under its row lock, the new status and its audit row when the status
    // machine allows the move, and the order's lines (written once, with the order, never changed).
    const [order]: TransitionRow[] = await m.query(
      `WITH locked AS (
         SELECT id, status FROM "${S}".orders WHERE id = $1 FOR UPDATE
       ), changed AS (
         UPDATE "${S}".orders o SET status = $2, rejection_reason = $3, updated_at = now()
           FROM locked WHERE o.id = locked.id AND locked.status = ANY($6::text[])
         RETURNING o.id, o.customer_email, o.total_cents, o.created_at, o.updated_at
       ), audit AS (
         INSERT INTO "${S}".order_status_history (order_id, status, at, event_id, correlation_id, reason)
         SELECT id, $2::text, updated_at, $4::uuid, $5::text, $3::text FROM changed
       )
       SELECT locked.status AS previous, c.id IS NOT NULL AS applied, c.customer_email, c.total_cents, c.created_at, c.updated_at AS now,
              (SELECT coalesce(json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.sku), '[]')
                 FROM "${S}".order_lines l WHERE c.id IS NOT NULL AND l.order_id = c.id) AS items
         FROM locked LEFT JOIN changed c ON true`,
      [id, transition.to, reason, cause.eventId, cause.correlationId, from],
    );
    if (!order) return { applied: false, from: null };
    if (!order.applied) return { applied: false, from: order.previous };
    // The id as every other event of the order spells it (the key picks the partition).
    await this.announce(m, id, transition, cause, order);
    return { applied: true };
  }

  /**
   * In a consumer run: the orders of every event of the run (the messages' keys) were locked and read
   * with one statement, in id order; the status machine is applied to them in memory.
   */
  private async applyInRun(
    m: EntityManager,
    { orders, changes }: RunOrders,
    orderId: string,
    transition: Transition,
    cause: TransitionCause,
  ): Promise<TransitionOutcome> {
    const order = orders.get(orderId);
    if (!order) return { applied: false, from: null };
    if (!canTransition(order.status, transition.to)) return { applied: false, from: order.status };
    const now = new Date();
    const row = { ...order, previous: order.status, now };
    order.status = transition.to; // what the run's later events see
    changes.push({
      id: orderId,
      status: transition.to,
      reason: transition.to === 'REJECTED' ? transition.reason : null,
      at: now,
      eventId: cause.eventId,
      correlationId: cause.correlationId,
    });
    await this.announce(m, orderId, transition, cause, row);
    return { applied: true };
  }

  /** The event the transition owes, to the outbox of the caller's transaction. */
  private async announce(m: EntityManager, orderId: string, transition: Transition, cause: TransitionCause, order: Announced): Promise<void> {
    const items = order.items;
    const at = order.now.toISOString();
    const common = {
      orderId,
      customerEmail: order.customer_email,
      items,
      totalCents: Number(order.total_cents),
      placedAt: order.created_at.toISOString(),
    };
    let outgoing: PendingEvent;
    switch (transition.to) {
      case 'CONFIRMED':
        outgoing = event(OrderConfirmed, { ...common, confirmedAt: at });
        break;
      case 'REJECTED':
        outgoing = event(OrderRejected, { ...common, reason: transition.reason, skus: transition.skus, rejectedAt: at });
        break;
      case 'CANCELLED':
        outgoing = event(OrderCancelled, {
          ...common,
          previousStatus: order.previous as 'PENDING' | 'CONFIRMED',
          cancelledAt: at,
        });
        break;
    }
    await this.outbox.add(m, cause, outgoing);
    this.logger.log(`order ${orderId} ${order.previous} -> ${transition.to} (correlation ${cause.correlationId})`);
  }
}

/** An order as a transition announces it. */
type Announced = Pick<TransitionRow, 'previous' | 'customer_email' | 'total_cents' | 'created_at' | 'now' | 'items'>;

interface RunOrder {
  status: OrderStatus;
  customer_email: string;
  total_cents: string;
  created_at: Date;
  items: OrderLinePayload[];
}

interface Change {
  id: string;
  status: OrderStatus;
  reason: string | null;
  at: Date;
  eventId: string | null;
  correlationId: string;
}

interface RunOrders {
  orders: Map<string, RunOrder>;
  changes: Change[];
}

async function lockOrders(m: EntityManager, ids: string[]): Promise<Map<string, RunOrder>> {
  const rows: (RunOrder & { id: string })[] = await m.query(
    `SELECT o.id, o.customer_email, o.status, o.total_cents, o.created_at,
            (SELECT coalesce(json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.sku), '[]')
               FROM "${S}".order_lines l WHERE l.order_id = o.id) AS items
       FROM "${S}".orders o WHERE o.id = ANY($1::uuid[]) ORDER BY o.id FOR UPDATE OF o`,
    [ids],
  );
  return new Map(rows.map(({ id, ...order }) => [id, order]));
}

/** Each changed order's last status, and one audit row per change in the order they happened. */
async function writeChanges(m: EntityManager, changes: Change[]): Promise<void> {
  if (changes.length === 0) return;
  await m.query(
    `WITH d AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::uuid[], $6::text[])
              WITH ORDINALITY AS x(id, status, reason, at, event_id, correlation_id, n)
     ), last AS (
       SELECT DISTINCT ON (id) id, status, reason, at FROM d ORDER BY id, n DESC
     ), changed AS (
       UPDATE "${S}".orders o SET status = last.status, rejection_reason = last.reason, updated_at = last.at FROM last WHERE o.id = last.id
     )
     INSERT INTO "${S}".order_status_history (order_id, status, at, event_id, correlation_id, reason)
     SELECT id, status, at, event_id, correlation_id, reason FROM d ORDER BY n`,
    [
      changes.map((c) => c.id),
      changes.map((c) => c.status),
      changes.map((c) => c.reason),
      changes.map((c) => c.at.toISOString()),
      changes.map((c) => c.eventId),
      changes.map((c) => c.correlationId),
    ],
  );
}
