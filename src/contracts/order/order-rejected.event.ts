import { IsArray, IsISO8601, IsIn, IsString } from 'class-validator';
import { defineEvent } from '../event-definition';
import { OrderSnapshotPayload } from './order-line';

export const ORDER_REJECTION_REASONS = ['OUT_OF_STOCK', 'UNKNOWN_SKU', 'RESERVATION_TIMEOUT'] as const;
export type OrderRejectionReason = (typeof ORDER_REJECTION_REASONS)[number];

export class OrderRejectedPayload extends OrderSnapshotPayload {
  @IsIn(ORDER_REJECTION_REASONS)
  reason: OrderRejectionReason;

  /** The SKUs that could not be reserved (empty for a timeout). */
  @IsArray()
  @IsString({ each: true })
  skus: string[];

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
