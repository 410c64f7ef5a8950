import { Module } from '@nestjs/common';
import { ModuleDatabaseModule } from '../../platform/database/module-database.module';
import { MessagingModule } from '../../platform/kafka/messaging.module';
import { GetProductController } from './get-product/get-product.controller';
import { WarehouseInitial1764000000000 } from './migrations/1764000000000-warehouse-initial';
import { OnOrderClosedHandler } from './on-order-closed/on-order-closed.handler';
import { ReleaseStockService } from './on-order-closed/release-stock.service';
import { OnOrderPlacedHandler } from './on-order-placed/on-order-placed.handler';
import { ReserveStockService } from './on-order-placed/reserve-stock.service';
import { Product } from './product.entity';
import { Reservation } from './reservation.entity';
import { RestockProductController } from './restock-product/restock-product.controller';
import { RestockProductService } from './restock-product/restock-product.service';
import { UpsertProductController } from './upsert-product/upsert-product.controller';
import { UpsertProductService } from './upsert-product/upsert-product.service';
import { WAREHOUSE_SCHEMA } from './warehouse.schema';

const httpControllers = [UpsertProductController, RestockProductController, GetProductController];
const eventHandlers = [OnOrderPlacedHandler, OnOrderClosedHandler];
const useCases = [UpsertProductService, RestockProductService, ReserveStockService, ReleaseStockService];

@Module({
  imports: [
    ModuleDatabaseModule.forModule({
      module: 'warehouse',
      schema: WAREHOUSE_SCHEMA,
      entities: [Product, Reservation],
      migrations: [WarehouseInitial1764000000000],
    }),
    MessagingModule.forModule({ module: 'warehouse', schema: WAREHOUSE_SCHEMA }),
  ],
  controllers: [...httpControllers, ...eventHandlers],
  providers: [...useCases],
})
export class WarehouseModule {}
