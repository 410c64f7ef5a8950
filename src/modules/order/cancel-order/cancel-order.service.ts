import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Cause } from '../../../platform/kafka/cause';
import { IllegalTransitionError, OrderNotFoundError } from '../order.errors';
import { OrderTransitions } from '../order-transitions';

/** Cancels a PENDING or CONFIRMED order; the warehouse releases what it holds on `order.cancelled`. */
@Injectable()
export class CancelOrderService {
  constructor(
    @InjectDataSource('order') private readonly dataSource: DataSource,
    private readonly transitions: OrderTransitions,
  ) {}

  async cancel(orderId: string, requestId: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const outcome = await this.transitions.apply(m, orderId, { to: 'CANCELLED' }, { ...Cause.fromRequest(requestId), eventId: null });
      if (outcome.applied) return;
      if (outcome.from === null) throw new OrderNotFoundError(orderId);
      throw new IllegalTransitionError(orderId, outcome.from, 'CANCELLED');
    });
  }
}
