import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsInt, IsISO8601, IsString, IsUUID, Matches, Max, Min, ValidateNested } from 'class-validator';
import { IsEmailAddress } from '../email-address';
import { SKU_PATTERN } from '../sku';

export class OrderLinePayload {
  @IsString()
  @Matches(SKU_PATTERN)
  sku: string;

  @IsInt()
  @Min(1)
  @Max(1000)
  quantity: number;

  @IsInt()
  @Min(0)
  unitPriceCents: number;
}

/**
 * What every order event carries about the order (event-carried state): consumers such as email
 * and analytics need no other source. Each order event extends it with its own fields.
 */
export class OrderSnapshotPayload {
  @IsUUID()
  orderId: string;

  @IsEmailAddress()
  customerEmail: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => OrderLinePayload)
  // 1-100 lines, one per SKU, as the order module accepts them: consumers net their effects per SKU.
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique((line: OrderLinePayload | null) => line?.sku, { message: 'items must name each sku once' })
  items: OrderLinePayload[];

  @IsInt()
  @Min(0)
  totalCents: number;

  @IsISO8601({ strict: true })
  placedAt: string;
}
