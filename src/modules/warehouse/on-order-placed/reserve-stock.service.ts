import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { EventEnvelope, OrderPlacedPayload, StockRejected, StockRejectionReason, StockReserved } from '../../../contracts';
import { Cause } from '../../../platform/kafka/cause';
import { Inbox } from '../../../platform/kafka/inbox';
import { event, Outbox } from '../../../platform/kafka/outbox';
import { BatchTransaction } from '../../../platform/kafka/batch-transaction';
import { claimAtCommit, claimReservation } from '../reservation-claim';
import { StockLedger } from '../stock-ledger';
import { ReservationStatus } from '../reservation.entity';
import { WAREHOUSE_SCHEMA as S } from '../warehouse.schema';

type Line = { sku: string; quantity: number };

/**
 * Reserves every line of a placed order, or none: stock is checked and taken (StockLedger: product
 * rows locked in SKU order, so concurrent orders never deadlock) in one transaction with the
 * reservation record and the `stock.reserved` / `stock.rejected` event.
 *
 * The reservation row is written first and is the order's lock (see claimReservation); in a
 * consumer run the rows and the stock are written once for the whole run, just before it commits,
 * and checked then (claimAtCommit, StockLedger): an event of a run costs no round trip.
 */
@Injectable()
export class ReserveStockService {
  private readonly logger = new Logger(ReserveStockService.name);

  constructor(
    private readonly inbox: Inbox,
    private readonly outbox: Outbox,
  ) {}

  async reserve(envelope: EventEnvelope<OrderPlacedPayload>): Promise<void> {
    const { orderId } = envelope.payload;
    const items = envelope.payload.items.map((i) => ({ sku: i.sku, quantity: i.quantity }));
    const cause = Cause.fromEvent(envelope);
    await this.inbox.once(envelope, 'warehouse.reserve-stock', async (m) => {
      const run = BatchTransaction.sharedOn(m);
      // In a run the row is written at its commit, with the status decided here; alone it is the order's lock now.
      const claim = run ? claimAtCommit(m, run, orderId, items) : undefined;
      const existing = claim ? undefined : await claimReservation(m, orderId, 'RESERVED', items);
      if (existing?.status === 'CLOSED') {
        // The order was cancelled or rejected before it reached us: hold nothing.
        await this.reject(m, orderId, items);
        await this.outbox.add(m, cause, this.rejection(orderId, 'ORDER_CLOSED', []));
        return;
      }
      if (existing) {
        this.logger.warn(`order ${orderId} already has a ${existing.status} reservation; ignoring ${envelope.eventId}`);
        return;
      }
      const { unknown, short } = await StockLedger.of(m).reserve(m, items);
      if (unknown.length > 0 || short.length > 0) {
        if (claim) claim.status = 'REJECTED';
        else await this.reject(m, orderId, items);
        const reason = unknown.length > 0 ? 'UNKNOWN_SKU' : 'OUT_OF_STOCK';
        await this.outbox.add(m, cause, this.rejection(orderId, reason, unknown.length > 0 ? unknown : short));
        return;
      }
      await this.outbox.add(m, cause, event(StockReserved, { orderId, items, reservedAt: new Date().toISOString() }));
    });
  }

  private rejection(orderId: string, reason: StockRejectionReason, skus: string[]) {
    return event(StockRejected, { orderId, reason, skus, rejectedAt: new Date().toISOString() });
  }

  private async reject(m: EntityManager, orderId: string, items: Line[]): Promise<void> {
    const status: ReservationStatus = 'REJECTED';
    await m.query(`UPDATE "${S}".reservations SET status = $2, items = $3, updated_at = now() WHERE order_id = $1`, [
      orderId,
      status,
      JSON.stringify(items),
    ]);
  }
}
