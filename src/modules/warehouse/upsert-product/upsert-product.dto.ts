import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

export class UpsertProductDto {
  @ApiProperty({ example: 'SKU-1' })
  @IsString()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'sku must be 1-64 letters, digits, dot, dash or underscore' })
  sku: string;

  @ApiProperty({ example: 'Blue mug' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  @ApiProperty({ description: 'price in integer cents', example: 1299 })
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  priceCents: number;

  @ApiProperty({ description: 'units available to sell', example: 100 })
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  stock: number;
}
