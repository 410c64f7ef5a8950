import { Type } from 'class-transformer';
import { IsArray, IsEmail, IsISO8601, IsIn, IsInt, IsString, IsUUID, Min, ValidateNested } from 'class-validator';
import { defineEvent } from '../event-definition';
import { OrderLinePayload } from './order-line';

export const ORDER_REJECTION_REASONS = ['OUT_OF_STOCK', 'UNKNOWN_SKU', 'RESERVATION_TIMEOUT'] as const;
export type OrderRejectionReason = (typeof ORDER_REJECTION_REASONS)[number];

export class OrderRejectedPayload {
  @IsUUID()
  orderId: string;

  @IsEmail()
  customerEmail: string;

  @IsIn(ORDER_REJECTION_REASONS)
  reason: OrderRejectionReason;

  /** The SKUs that could not be reserved (empty for a timeout). */
  @IsArray()
  @IsString({ each: true })
  skus: string[];

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
  rejectedAt: string;
}

export const OrderRejected = defineEvent({
  type: 'order.rejected',
  version: 1,
  topic: 'order.rejected',
  payload: OrderRejectedPayload,
  key: (p) => p.orderId,
  producer: 'order',
  description: 'The order could not be fulfilled (stock, unknown SKU, or no reservation in time).',
});
