import { Injectable, Logger } from '@nestjs/common';
import { EventEnvelope, StockRejectedPayload, StockReservedPayload } from '../../../contracts';
import { Cause } from '../../../platform/kafka/cause';
import { Inbox } from '../../../platform/kafka/inbox';
import { OrderTransitions, Transition } from '../order-transitions';

@Injectable()
export class OnStockDecisionService {
  private readonly logger = new Logger(OnStockDecisionService.name);

  constructor(
    private readonly inbox: Inbox,
    private readonly transitions: OrderTransitions,
  ) {}

  confirm(envelope: EventEnvelope<StockReservedPayload>): Promise<void> {
    return this.apply(envelope, { to: 'CONFIRMED' });
  }

  reject(envelope: EventEnvelope<StockRejectedPayload>): Promise<void> {
    const { reason, skus } = envelope.payload;
    // ORDER_CLOSED answers an order that was already cancelled or rejected: nothing left to do.
    if (reason === 'ORDER_CLOSED') return this.apply(envelope, null);
    return this.apply(envelope, { to: 'REJECTED', reason, skus });
  }

  private async apply(envelope: EventEnvelope<{ orderId: string }>, transition: Transition | null): Promise<void> {
    await this.inbox.once(envelope, 'order.on-stock-decision', async (m) => {
      if (!transition) return;
      const outcome = await this.transitions.apply(m, envelope.payload.orderId, transition, {
        ...Cause.fromEvent(envelope),
        eventId: envelope.eventId,
      });
      if (!outcome.applied) {
        // A late answer (the order was cancelled or timed out meanwhile): logged, never applied.
        this.logger.warn(
          `ignored ${envelope.type} ${envelope.eventId}: order ${envelope.payload.orderId} is ${outcome.from ?? 'unknown'} ` +
            `(correlation ${envelope.correlationId})`,
        );
      }
    });
  }
}
