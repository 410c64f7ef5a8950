import { Type } from 'class-transformer';
import { IsArray, IsEmail, IsISO8601, IsIn, IsInt, IsUUID, Min, ValidateNested } from 'class-validator';
import { defineEvent } from '../event-definition';
import { OrderLinePayload } from './order-line';

export class OrderCancelledPayload {
  @IsUUID()
  orderId: string;

  @IsEmail()
  customerEmail: string;

  /** The status the order left: a cancelled CONFIRMED order gives its revenue back. */
  @IsIn(['PENDING', 'CONFIRMED'])
  previousStatus: 'PENDING' | 'CONFIRMED';

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => OrderLinePayload)
  items: OrderLinePayload[];

  @IsInt()
  @Min(0)
  totalCents: number;

  @IsISO8601({ strict: true })
  placedAt: string;

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
