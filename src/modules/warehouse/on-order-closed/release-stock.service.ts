import { Injectable } from '@nestjs/common';
import { EventEnvelope, StockReleased } from '../../../contracts';
import { Cause } from '../../../platform/kafka/cause';
import { Inbox } from '../../../platform/kafka/inbox';
import { event, Outbox } from '../../../platform/kafka/outbox';
import { lockOrder } from '../order-lock';
import { StockLedger } from '../stock-ledger';
import { ReservationStatus } from '../reservation.entity';
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
      await lockOrder(m, orderId);
      const [reservation]: { status: ReservationStatus; items: { sku: string; quantity: number }[] }[] = await m.query(
        `SELECT status, items FROM "${S}".reservations WHERE order_id = $1 FOR UPDATE`,
        [orderId],
      );
      if (!reservation) {
        await m.query(
          `INSERT INTO "${S}".reservations (order_id, status, items) VALUES ($1, 'CLOSED', '[]') ON CONFLICT DO NOTHING`,
          [orderId],
        );
        return;
      }
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
