import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, OrderPlaced, OrderPlacedPayload } from '../../../contracts';
import { Inbox } from '../../../platform/kafka/inbox';
import { OnAnalyticsEvent } from '../analytics-events';

/** Walking skeleton: the analytics group records each order it hears about (projections come next). */
@Controller()
export class OnDomainEventHandler {
  constructor(private readonly inbox: Inbox) {}

  @OnAnalyticsEvent(OrderPlaced)
  async placed(@Payload() envelope: EventEnvelope<OrderPlacedPayload>): Promise<void> {
    await this.inbox.once(envelope, 'analytics.projections', async () => undefined);
  }
}
