import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { OrderCancelled, OrderConfirmed, OrderLinePayload, OrderRejected, OrderRejectionReason } from '../../contracts';
import { Cause } from '../../platform/kafka/cause';
import { event, Outbox, PendingEvent } from '../../platform/kafka/outbox';
import { canTransition, OrderStatus } from './order-status';
import { ORDER_SCHEMA as S } from './order.schema';

interface LockedOrder {
  id: string;
  customer_email: string;
  status: OrderStatus;
  total_cents: string;
  created_at: Date;
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
 * trail and writes the resulting event to the outbox, all in the caller's transaction.
 */
@Injectable()
export class OrderTransitions {
  private readonly logger = new Logger(OrderTransitions.name);

  constructor(private readonly outbox: Outbox) {}

  async apply(m: EntityManager, orderId: string, transition: Transition, cause: TransitionCause): Promise<TransitionOutcome> {
    // The order under its row lock, with its lines (written once, with the order, and never changed).
    const [order]: LockedOrder[] = await m.query(
      `SELECT o.id, o.customer_email, o.status, o.total_cents, o.created_at,
              (SELECT coalesce(json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.sku), '[]')
                 FROM "${S}".order_lines l WHERE l.order_id = o.id) AS items
         FROM "${S}".orders o WHERE o.id = $1 FOR UPDATE OF o`,
      [orderId],
    );
    if (!order) return { applied: false, from: null };
    if (!canTransition(order.status, transition.to)) return { applied: false, from: order.status };

    const reason = transition.to === 'REJECTED' ? transition.reason : null;
    // The new status and its audit row in one statement (one round trip less per transition).
    const [{ now }]: { now: Date }[] = await m.query(
      `WITH changed AS (
         UPDATE "${S}".orders SET status = $2, rejection_reason = $3, updated_at = now() WHERE id = $1 RETURNING updated_at
       )
       INSERT INTO "${S}".order_status_history (order_id, status, at, event_id, correlation_id, reason)
       SELECT $1::uuid, $2::text, changed.updated_at, $4::uuid, $5::text, $3::text FROM changed RETURNING at AS now`,
      [orderId, transition.to, reason, cause.eventId, cause.correlationId],
    );
    const items = order.items;
    const at = (now as Date).toISOString();
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
          previousStatus: order.status as 'PENDING' | 'CONFIRMED',
          cancelledAt: at,
        });
        break;
    }
    await this.outbox.add(m, cause, outgoing);
    this.logger.log(`order ${orderId} ${order.status} -> ${transition.to} (correlation ${cause.correlationId})`);
    return { applied: true };
  }
}
