import { IsInt, IsISO8601, IsString, Matches, MaxLength, Min, MinLength } from 'class-validator';
import { defineEvent } from '../event-definition';
import { SKU_PATTERN } from '../sku';

export class ProductUpsertedPayload {
  @Matches(SKU_PATTERN)
  sku: string;

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  @IsInt()
  @Min(0)
  priceCents: number;

  @IsInt()
  @Min(0)
  available: number;

  @IsISO8601({ strict: true })
  updatedAt: string;
}

export const ProductUpserted = defineEvent({
  type: 'product.upserted',
  version: 1,
  topic: 'product.upserted',
  payload: ProductUpsertedPayload,
  key: (p) => p.sku,
  producer: 'warehouse',
  description: 'A product was created, changed or restocked (event-carried state for catalogue replicas).',
});
