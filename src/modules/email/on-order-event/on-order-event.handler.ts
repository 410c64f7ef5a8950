import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  EventEnvelope,
  OrderCancelled,
  OrderCancelledPayload,
  OrderConfirmed,
  OrderConfirmedPayload,
  OrderPlaced,
  OrderPlacedPayload,
  OrderRejected,
  OrderRejectedPayload,
} from '../../../contracts';
import { OnEmailEvent } from '../email-events';
import { QueueOrderMailService } from './queue-order-mail.service';

/** Every step of an order's life owes the customer one mail. */
@Controller()
export class OnOrderEventHandler {
  constructor(private readonly mails: QueueOrderMailService) {}

  @OnEmailEvent(OrderPlaced)
  placed(@Payload() envelope: EventEnvelope<OrderPlacedPayload>): Promise<void> {
    return this.mails.queue('ORDER_PLACED', envelope);
  }

  @OnEmailEvent(OrderConfirmed)
  confirmed(@Payload() envelope: EventEnvelope<OrderConfirmedPayload>): Promise<void> {
    return this.mails.queue('ORDER_CONFIRMED', envelope);
  }

  @OnEmailEvent(OrderRejected)
  rejected(@Payload() envelope: EventEnvelope<OrderRejectedPayload>): Promise<void> {
    return this.mails.queue('ORDER_REJECTED', envelope);
  }

  @OnEmailEvent(OrderCancelled)
  cancelled(@Payload() envelope: EventEnvelope<OrderCancelledPayload>): Promise<void> {
    return this.mails.queue('ORDER_CANCELLED', envelope);
  }
}
