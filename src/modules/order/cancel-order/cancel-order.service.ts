import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { committedDespite } from '../../../platform/database/transaction-status';
import { Cause } from '../../../platform/kafka/cause';
import { IllegalTransitionError, OrderNotFoundError } from '../order.errors';
import { OrderTransitions } from '../order-transitions';

/**
 * Cancels a PENDING or CONFIRMED order; the warehouse releases what it holds on `order.cancelled`.
 * A cancel of a cancelled order succeeds and changes nothing: the retry of a cancel whose answer was
 * lost on the way (a proxy's timeout, a reset connection) must not read as "could not cancel".
 */
@Injectable()
export class CancelOrderService {
  constructor(
    @InjectDataSource('order') private readonly dataSource: DataSource,
    private readonly transitions: OrderTransitions,
  ) {}

  /**
   * When the connection is lost after the cancellation was written, the transaction's status says
   * whether COMMIT got through: if it did, the cancel succeeded (a 503 would invite a retry, and the
   * retry a 409 for an order that this very request cancelled).
   */
  async cancel(orderId: string, requestId: string): Promise<void> {
    let written: string | undefined; // the transaction's id, once the cancellation is in it
    try {
      await this.dataSource.transaction(async (m) => {
        const [{ xid }]: { xid: string }[] = await m.query('SELECT txid_current()::text AS xid');
        const outcome = await this.transitions.apply(m, orderId, { to: 'CANCELLED' }, { ...Cause.fromRequest(requestId), eventId: null });
        if (outcome.applied) {
          written = xid;
          return;
        }
        if (outcome.from === null) throw new OrderNotFoundError(orderId);
        if (outcome.from === 'CANCELLED') return; // no second event, no second history row
        throw new IllegalTransitionError(orderId, outcome.from, 'CANCELLED');
      });
    } catch (error) {
      if (!(await committedDespite(error, this.dataSource, written))) throw error;
    }
  }
}
