import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { EventEnvelope, OrderPlacedPayload, StockRejected, StockRejectionReason, StockReserved } from '../../../contracts';
import { Cause } from '../../../platform/kafka/cause';
import { Inbox } from '../../../platform/kafka/inbox';
import { event, Outbox } from '../../../platform/kafka/outbox';
import { lockOrder } from '../order-lock';
import { StockLedger } from '../stock-ledger';
import { ReservationStatus } from '../reservation.entity';
import { WAREHOUSE_SCHEMA as S } from '../warehouse.schema';

/**
 * Reserves every line of a placed order, or none: stock is checked and taken (StockLedger: product
 * rows locked in SKU order, so concurrent orders never deadlock) in one transaction with the
 * reservation record and the `stock.reserved` / `stock.rejected` event.
 */
@Injectable()
export class ReserveStockService {
  private readonly logger = new Logger(ReserveStockService.name);

  constructor(
    private readonly inbox: Inbox,
    private readonly outbox: Outbox,
  ) {}

  async reserve(envelope: EventEnvelope<OrderPlacedPayload>): Promise<void> {
    const { orderId, items } = envelope.payload;
    const cause = Cause.fromEvent(envelope);
    await this.inbox.once(envelope, 'warehouse.reserve-stock', async (m) => {
      await lockOrder(m, orderId);
      const [existing]: { status: ReservationStatus }[] = await m.query(
        `SELECT status FROM "${S}".reservations WHERE order_id = $1 FOR UPDATE`,
        [orderId],
      );
      if (existing?.status === 'CLOSED') {
        // The order was cancelled or rejected before it reached us: hold nothing.
        await this.record(m, orderId, 'REJECTED', items);
        await this.outbox.add(m, cause, this.rejection(orderId, 'ORDER_CLOSED', []));
        return;
      }
      if (existing) {
        this.logger.warn(`order ${orderId} already has a ${existing.status} reservation; ignoring ${envelope.eventId}`);
        return;
      }
      const lines = new Map(items.map((i) => [i.sku, i.quantity]));
      const ledger = StockLedger.of(m);
      const found = await ledger.available(m, [...lines.keys()]);
      const unknown = [...lines.keys()].filter((sku) => !found.has(sku));
      const short = [...lines].filter(([sku, qty]) => found.has(sku) && found.get(sku)! < qty).map(([sku]) => sku);
      if (unknown.length > 0 || short.length > 0) {
        ledger.confirmRefusal([...unknown, ...short]);
        await this.record(m, orderId, 'REJECTED', items);
        const reason = unknown.length > 0 ? 'UNKNOWN_SKU' : 'OUT_OF_STOCK';
        await this.outbox.add(m, cause, this.rejection(orderId, reason, unknown.length > 0 ? unknown : short));
        return;
      }
      ledger.reserve([...lines].map(([sku, quantity]) => ({ sku, quantity })));
      await this.record(m, orderId, 'RESERVED', items);
      const reserved = items.map((i) => ({ sku: i.sku, quantity: i.quantity }));
      await this.outbox.add(m, cause, event(StockReserved, { orderId, items: reserved, reservedAt: new Date().toISOString() }));
    });
  }

  private rejection(orderId: string, reason: StockRejectionReason, skus: string[]) {
    return event(StockRejected, { orderId, reason, skus, rejectedAt: new Date().toISOString() });
  }

  private async record(
    m: EntityManager,
    orderId: string,
    status: ReservationStatus,
    items: { sku: string; quantity: number }[],
  ): Promise<void> {
    const lines = JSON.stringify(items.map((i) => ({ sku: i.sku, quantity: i.quantity })));
    await m.query(
      `INSERT INTO "${S}".reservations (order_id, status, items) VALUES ($1, $2, $3)
       ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, items = excluded.items, updated_at = now()`,
      [orderId, status, lines],
    );
  }
}
