import { Injectable } from '@nestjs/common';
import { EventEnvelope, StockReleased } from '../../../contracts';
import { Cause } from '../../../platform/kafka/cause';
import { Inbox } from '../../../platform/kafka/inbox';
import { event, Outbox } from '../../../platform/kafka/outbox';
import { claimReservation } from '../reservation-claim';
import { StockLedger } from '../stock-ledger';
import { WAREHOUSE_SCHEMA as S } from '../warehouse.schema';

/**
 * Gives back what a cancelled or rejected order holds. When the close arrives before the order
 * itself (different topics, no order between them), it leaves a CLOSED mark so the late
 * `order.placed` reserves nothing.
 */
@Injectable()
export class ReleaseStockService {
  constructor(
    private readonly inbox: Inbox,
    private readonly outbox: Outbox,
  ) {}

  async release(envelope: EventEnvelope<{ orderId: string }>, reason: 'ORDER_CANCELLED' | 'ORDER_REJECTED'): Promise<void> {
    const { orderId } = envelope.payload;
    await this.inbox.once(envelope, 'warehouse.release-stock', async (m) => {
      // A CLOSED mark inserted here (the order has not reached us yet) is all there is to do.
      const reservation = await claimReservation(m, orderId, 'CLOSED', []);
      if (!reservation) return;
      if (reservation.status !== 'RESERVED') return;
      const items = [...reservation.items].sort((a, b) => a.sku.localeCompare(b.sku));
      StockLedger.of(m).release(items);
      await m.query(`UPDATE "${S}".reservations SET status = 'RELEASED', updated_at = now() WHERE order_id = $1`, [orderId]);
      await this.outbox.add(
        m,
        Cause.fromEvent(envelope),
        event(StockReleased, { orderId, items, reason, releasedAt: new Date().toISOString() }),
      );
    });
  }
}
