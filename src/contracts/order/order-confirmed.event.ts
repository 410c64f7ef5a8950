import { IsISO8601 } from 'class-validator';
import { defineEvent } from '../event-definition';
import { OrderSnapshotPayload } from './order-line';

export class OrderConfirmedPayload extends OrderSnapshotPayload {
  @IsISO8601({ strict: true })
  confirmedAt: string;
}

export const OrderConfirmed = defineEvent({
  type: 'order.confirmed',
  version: 1,
  topic: 'order.confirmed',
  payload: OrderConfirmedPayload,
  key: (p) => p.orderId,
  producer: 'order',
  description: 'The warehouse reserved every line; the order is confirmed.',
});
