import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Cause } from '../../../platform/kafka/cause';
import { Outbox } from '../../../platform/kafka/outbox';
import { NEXT_VERSION, productUpserted } from '../product-events';
import { ProductRow, ProductView, toProductView } from '../product.view';
import { WAREHOUSE_SCHEMA as S } from '../warehouse.schema';
import { UpsertProductDto } from './upsert-product.dto';

/** Creates a product or sets its name, price and (when given) available stock; emits `product.upserted`. */
@Injectable()
export class UpsertProductService {
  constructor(
    @InjectDataSource('warehouse') private readonly dataSource: DataSource,
    private readonly outbox: Outbox,
  ) {}

  async upsert(dto: UpsertProductDto, requestId: string): Promise<{ created: boolean; product: ProductView }> {
    return this.dataSource.transaction(async (m) => {
      const [row]: (ProductRow & { created: boolean })[] = await m.query(
        `INSERT INTO "${S}".products AS p (sku, name, price_cents, available, updated_at) VALUES ($1, $2, $3, coalesce($4::int, 0), clock_timestamp())
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents,
           available = coalesce($4::int, p.available), updated_at = ${NEXT_VERSION}
         RETURNING *, (xmax = 0) AS created`,
        [dto.sku, dto.name, dto.priceCents, dto.stock ?? null],
      );
      await this.outbox.add(m, Cause.fromRequest(requestId), productUpserted(row));
      return { created: row.created, product: toProductView(row) };
    });
  }
}
