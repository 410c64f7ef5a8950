import { IsInt, Matches, Min } from 'class-validator';

export class StockLinePayload {
  @Matches(/^[A-Za-z0-9._-]{1,64}$/)
  sku: string;

  @IsInt()
  @Min(1)
  quantity: number;
}
