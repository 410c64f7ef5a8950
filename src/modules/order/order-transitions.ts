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
    const [order]: LockedOrder[] = await m.query(
      `SELECT id, customer_email, status, total_cents, created_at FROM "${S}".orders WHERE id = $1 FOR UPDATE`,
      [orderId],
    );
    if (!order) return { applied: false, from: null };
    if (!canTransition(order.status, transition.to)) return { applied: false, from: order.status };

    const reason = transition.to === 'REJECTED' ? transition.reason : null;
    // TypeORM returns [rows, count] for UPDATE.
    const [[{ now }]] = await m.query(
      `UPDATE "${S}".orders SET status = $2, rejection_reason = $3, updated_at = now() WHERE id = $1 RETURNING updated_at AS now`,
      [orderId, transition.to, reason],
    );
    await m.query(
      `INSERT INTO "${S}".order_status_history (order_id, status, at, event_id, correlation_id, reason)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [orderId, transition.to, now, cause.eventId, cause.correlationId, reason],
    );
    const items: OrderLinePayload[] = (
      await m.query(`SELECT sku, quantity, unit_price_cents FROM "${S}".order_lines WHERE order_id = $1 ORDER BY sku`, [orderId])
    ).map((l: { sku: string; quantity: number; unit_price_cents: number }) => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPriceCents: l.unit_price_cents,
    }));
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
