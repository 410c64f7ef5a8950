import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ProductRow, ProductView, toProductView } from '../product.view';
import { SkuPipe } from '../sku.pipe';
import { ProductNotFoundError } from '../warehouse.errors';
import { WAREHOUSE_SCHEMA as S } from '../warehouse.schema';
import { SKU_PATTERN } from '../../../contracts';

export class ListProductsQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit = 100;

  /** The `nextCursor` of the page before (the last SKU it held). */
  @IsOptional()
  @IsString()
  @Matches(SKU_PATTERN, { message: 'cursor must be the nextCursor of an earlier page' })
  cursor?: string;
}

@ApiTags('products')
@Controller('products')
export class GetProductController {
  constructor(@InjectDataSource('warehouse') private readonly dataSource: DataSource) {}

  /** Products by SKU, a page at a time (keyset: a page holds what sorts after the cursor). */
  @Get()
  async list(@Query() query: ListProductsQuery): Promise<{ items: ProductView[]; nextCursor: string | null }> {
    const rows: ProductRow[] = await this.dataSource.query(
      `SELECT * FROM "${S}".products WHERE $1::text IS NULL OR sku > $1 ORDER BY sku LIMIT $2`,
      [query.cursor ?? null, query.limit + 1],
    );
    const page = rows.slice(0, query.limit);
    return { items: page.map(toProductView), nextCursor: rows.length > query.limit ? page[page.length - 1].sku : null };
  }

  @Get(':sku')
  async get(@Param('sku', SkuPipe) sku: string): Promise<ProductView> {
    const [row]: ProductRow[] = await this.dataSource.query(`SELECT * FROM "${S}".products WHERE sku = $1`, [sku]);
    if (!row) throw new ProductNotFoundError(sku);
    return toProductView(row);
  }
}
