import { Type } from 'class-transformer';
import { IsArray, IsEmail, IsISO8601, IsInt, IsUUID, Min, ValidateNested } from 'class-validator';
import { defineEvent } from '../event-definition';
import { OrderLinePayload } from './order-line';

export class OrderConfirmedPayload {
  @IsUUID()
  orderId: string;

  @IsEmail()
  customerEmail: string;

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
