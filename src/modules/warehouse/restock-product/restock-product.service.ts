import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Cause } from '../../../platform/kafka/cause';
import { Outbox } from '../../../platform/kafka/outbox';
import { NEXT_VERSION, productUpserted } from '../product-events';
import { ProductRow, ProductView, toProductView } from '../product.view';
import { MAX_UNITS, NegativeStockError, ProductNotFoundError, StockLimitError } from '../warehouse.errors';
import { WAREHOUSE_SCHEMA as S } from '../warehouse.schema';

/** Adds (or writes off) available units; emits `product.upserted`. */
@Injectable()
export class RestockProductService {
  constructor(
    @InjectDataSource('warehouse') private readonly dataSource: DataSource,
    private readonly outbox: Outbox,
  ) {}

  async restock(sku: string, delta: number, requestId: string): Promise<ProductView> {
    return this.dataSource.transaction(async (m) => {
      const [current]: ProductRow[] = await m.query(`SELECT * FROM "${S}".products WHERE sku = $1 FOR UPDATE`, [sku]);
      if (!current) throw new ProductNotFoundError(sku);
      if (current.available + delta < 0) throw new NegativeStockError(sku, current.available, delta);
      // Reserved units come back to available on a release, so both together must stay in range.
      if (current.available + current.reserved + delta > MAX_UNITS) throw new StockLimitError(sku, current.available + current.reserved, delta);
      // TypeORM returns [rows, count] for UPDATE.
      const [[row]]: [ProductRow[], number] = await m.query(
        `UPDATE "${S}".products p SET available = available + $2, updated_at = ${NEXT_VERSION} WHERE sku = $1 RETURNING *`,
        [sku, delta],
      );
      await this.outbox.add(m, Cause.fromRequest(requestId), productUpserted(row));
      return toProductView(row);
    });
  }
}
