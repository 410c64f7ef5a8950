import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsEmail, IsISO8601, IsInt, IsUUID, Min, ValidateNested } from 'class-validator';
import { defineEvent } from '../event-definition';
import { OrderLinePayload } from './order-line';

export class OrderPlacedPayload {
  @IsUUID()
  orderId: string;

  @IsEmail()
  customerEmail: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => OrderLinePayload)
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  items: OrderLinePayload[];

  @IsInt()
  @Min(0)
  totalCents: number;

  @IsISO8601({ strict: true })
  placedAt: string;
}

export const OrderPlaced = defineEvent({
  type: 'order.placed',
  version: 1,
  topic: 'order.placed',
  payload: OrderPlacedPayload,
  key: (p) => p.orderId,
  producer: 'order',
  description: 'A customer placed an order; it waits for the warehouse to reserve stock.',
});
