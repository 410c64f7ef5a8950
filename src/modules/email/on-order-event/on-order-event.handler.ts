import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, OrderPlaced, OrderPlacedPayload } from '../../../contracts';
import { Inbox } from '../../../platform/kafka/inbox';
import { OnEmailEvent } from '../email-events';

/** Walking skeleton: the email group records each order it hears about (mail delivery comes next). */
@Controller()
export class OnOrderEventHandler {
  constructor(private readonly inbox: Inbox) {}

  @OnEmailEvent(OrderPlaced)
  async placed(@Payload() envelope: EventEnvelope<OrderPlacedPayload>): Promise<void> {
    await this.inbox.once(envelope, 'email.order-mail', async () => undefined);
  }
}
