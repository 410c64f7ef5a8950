import { Type } from 'class-transformer';
import { IsArray, IsISO8601, IsIn, IsUUID, ValidateNested } from 'class-validator';
import { defineEvent } from '../event-definition';
import { StockLinePayload } from './stock-line';

export class StockReleasedPayload {
  @IsUUID()
  orderId: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => StockLinePayload)
  items: StockLinePayload[];

  @IsIn(['ORDER_CANCELLED', 'ORDER_REJECTED'])
  reason: 'ORDER_CANCELLED' | 'ORDER_REJECTED';

  @IsISO8601({ strict: true })
  releasedAt: string;
}

export const StockReleased = defineEvent({
  type: 'stock.released',
  version: 1,
  topic: 'stock.released',
  payload: StockReleasedPayload,
  key: (p) => p.orderId,
  producer: 'warehouse',
  description: 'A reservation was given back to available stock.',
});
