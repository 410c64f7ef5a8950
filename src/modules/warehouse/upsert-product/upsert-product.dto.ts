import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Matches, Max, MaxLength, Min, MinLength, ValidateIf } from 'class-validator';
import { SKU_PATTERN, SKU_RULE } from '../../../contracts';

export class UpsertProductDto {
  @ApiProperty({ example: 'SKU-1' })
  @IsString()
  @Matches(SKU_PATTERN, { message: SKU_RULE })
  sku: string;

  @ApiProperty({ example: 'Blue mug' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  // Control characters have no place in a name, and Postgres text cannot hold NUL at all (a 500 before);
  // nor can jsonb (the event's payload) hold half a surrogate pair (a 500 too).
  @Matches(/^[^\p{Cc}\p{Cs}]*$/u, { message: 'name must not contain control characters or unpaired surrogates' })
  name: string;

  @ApiProperty({ description: 'price in integer cents', example: 1299 })
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  priceCents: number;

  /**
   * Sets the units available to sell. Omitted, an existing product keeps its stock (so changing a
   * name or price cannot overwrite reservations made meanwhile) and a new one starts at 0;
   * `PATCH /products/:sku/stock` adds or writes off units.
   */
  @ApiProperty({ description: 'units available to sell; omitted: unchanged (0 for a new product)', example: 100, required: false })
  @ValidateIf((dto: UpsertProductDto) => dto.stock !== undefined) // left out is fine; null is not a stock
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  stock?: number;
}
