import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ProductRow, ProductView, toProductView } from '../product.view';
import { ProductNotFoundError } from '../warehouse.errors';
import { WAREHOUSE_SCHEMA as S } from '../warehouse.schema';

@ApiTags('products')
@Controller('products')
export class GetProductController {
  constructor(@InjectDataSource('warehouse') private readonly dataSource: DataSource) {}

  @Get()
  async list(): Promise<{ items: ProductView[] }> {
    const rows: ProductRow[] = await this.dataSource.query(`SELECT * FROM "${S}".products ORDER BY sku LIMIT 1000`);
    return { items: rows.map(toProductView) };
  }

  @Get(':sku')
  async get(@Param('sku') sku: string): Promise<ProductView> {
    const [row]: ProductRow[] = await this.dataSource.query(`SELECT * FROM "${S}".products WHERE sku = $1`, [sku]);
    if (!row) throw new ProductNotFoundError(sku);
    return toProductView(row);
  }
}
