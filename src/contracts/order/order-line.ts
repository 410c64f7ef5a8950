import { IsInt, IsString, Matches, Max, Min } from 'class-validator';

export class OrderLinePayload {
  @IsString()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/)
  sku: string;

  @IsInt()
  @Min(1)
  @Max(1000)
  quantity: number;

  @IsInt()
  @Min(0)
  unitPriceCents: number;
}
