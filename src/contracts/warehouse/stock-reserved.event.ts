import { Type } from 'class-transformer';
import { IsArray, IsISO8601, IsUUID, ValidateNested } from 'class-validator';
import { defineEvent } from '../event-definition';
import { StockLinePayload } from './stock-line';

export class StockReservedPayload {
  @IsUUID()
  orderId: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => StockLinePayload)
  items: StockLinePayload[];

  @IsISO8601({ strict: true })
  reservedAt: string;
}

export const StockReserved = defineEvent({
  type: 'stock.reserved',
  version: 1,
  topic: 'stock.reserved',
  payload: StockReservedPayload,
  key: (p) => p.orderId,
  producer: 'warehouse',
  description: 'Every line of the order is reserved (all or none).',
});
