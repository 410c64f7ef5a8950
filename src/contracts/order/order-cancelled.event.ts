import { IsISO8601, IsIn } from 'class-validator';
import { defineEvent } from '../event-definition';
import { OrderSnapshotPayload } from './order-line';

export class OrderCancelledPayload extends OrderSnapshotPayload {
  /** The status the order left: a cancelled CONFIRMED order gives its revenue back. */
  @IsIn(['PENDING', 'CONFIRMED'])
  previousStatus: 'PENDING' | 'CONFIRMED';

  @IsISO8601({ strict: true })
  cancelledAt: string;
}

export const OrderCancelled = defineEvent({
  type: 'order.cancelled',
  version: 1,
  topic: 'order.cancelled',
  payload: OrderCancelledPayload,
  key: (p) => p.orderId,
  producer: 'order',
  description: 'The customer cancelled the order; any stock it holds is released.',
});
