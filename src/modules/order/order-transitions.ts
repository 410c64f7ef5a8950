import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { OrderCancelled, OrderConfirmed, OrderLinePayload, OrderRejected, OrderRejectionReason } from '../../contracts';
import { Cause } from '../../platform/kafka/cause';
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
      [orderId, transition.to, reason, cause.eventId, cause.correlationId, from],
    );
    if (!order) return { applied: false, from: null };
    if (!order.applied) return { applied: false, from: order.previous };

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
    return { applied: true };
  }
}
