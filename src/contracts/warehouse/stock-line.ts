import { IsInt, Matches, Min } from 'class-validator';
import { SKU_PATTERN } from '../sku';

export class StockLinePayload {
  @Matches(SKU_PATTERN)
  sku: string;

  @IsInt()
  @Min(1)
  quantity: number;
}
