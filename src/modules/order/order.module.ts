import { Module } from '@nestjs/common';
import { ModuleDatabaseModule } from '../../platform/database/module-database.module';
import { MessagingModule } from '../../platform/kafka/messaging.module';
import { CancelOrderController } from './cancel-order/cancel-order.controller';
import { CancelOrderService } from './cancel-order/cancel-order.service';
import { CatalogueProduct } from './catalogue-product.entity';
import { ExpireReservationsService } from './expire-reservations/expire-reservations.service';
import { StuckOrdersController } from './expire-reservations/stuck-orders.controller';
import { GetOrderController } from './get-order/get-order.controller';
import { GetOrderService } from './get-order/get-order.service';
import { OrderInitial1764000000000 } from './migrations/1764000000000-order-initial';
import { OrderPublishMarks1766000000000 } from './migrations/1766000000000-order-publish-marks';
import { OnProductUpsertedHandler } from './on-product-upserted/on-product-upserted.handler';
import { OnStockDecisionHandler } from './on-stock-decision/on-stock-decision.handler';
import { OnStockDecisionService } from './on-stock-decision/on-stock-decision.service';
import { OrderLine } from './order-line.entity';
import { OrderStatusHistory } from './order-status-history.entity';
import { OrderTransitions } from './order-transitions';
import { Order } from './order.entity';
import { ORDER_SCHEMA } from './order.schema';
import { PlaceOrderController } from './place-order/place-order.controller';
import { PlaceOrderService } from './place-order/place-order.service';

const httpControllers = [PlaceOrderController, GetOrderController, CancelOrderController, StuckOrdersController];
const eventHandlers = [OnStockDecisionHandler, OnProductUpsertedHandler];
const useCases = [PlaceOrderService, GetOrderService, CancelOrderService, OnStockDecisionService, ExpireReservationsService];
const domain = [OrderTransitions];

@Module({
  imports: [
    ModuleDatabaseModule.forModule({
      module: 'order',
      schema: ORDER_SCHEMA,
      entities: [Order, OrderLine, OrderStatusHistory, CatalogueProduct],
      migrations: [OrderInitial1764000000000, OrderPublishMarks1766000000000],
    }),
    MessagingModule.forModule({ module: 'order', schema: ORDER_SCHEMA }),
  ],
  controllers: [...httpControllers, ...eventHandlers],
  providers: [...useCases, ...domain],
})
export class OrderModule {}
