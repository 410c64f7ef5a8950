import { IsArray, IsISO8601, IsIn, IsString, IsUUID } from 'class-validator';
import { defineEvent } from '../event-definition';

export const STOCK_REJECTION_REASONS = ['OUT_OF_STOCK', 'UNKNOWN_SKU', 'ORDER_CLOSED'] as const;
export type StockRejectionReason = (typeof STOCK_REJECTION_REASONS)[number];

export class StockRejectedPayload {
  @IsUUID()
  orderId: string;

  @IsIn(STOCK_REJECTION_REASONS)
  reason: StockRejectionReason;

  /** The SKUs that were short (or unknown). */
  @IsArray()
  @IsString({ each: true })
  skus: string[];

  @IsISO8601({ strict: true })
  rejectedAt: string;
}

export const StockRejected = defineEvent({
  type: 'stock.rejected',
  version: 1,
  topic: 'stock.rejected',
  payload: StockRejectedPayload,
  key: (p) => p.orderId,
  producer: 'warehouse',
  description: 'The order could not be reserved; nothing was held.',
});
