import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  EventEnvelope,
  OrderCancelled,
  OrderCancelledPayload,
  OrderConfirmed,
  OrderConfirmedPayload,
  OrderPlaced,
  OrderPlacedPayload,
  OrderRejected,
  OrderRejectedPayload,
  ProductUpserted,
  ProductUpsertedPayload,
  StockRejected,
  StockRejectedPayload,
  StockReleased,
  StockReleasedPayload,
  StockReserved,
  StockReservedPayload,
} from '../../../contracts';
import { OnAnalyticsEvent } from '../analytics-events';
import { ProjectEventService } from './project-event.service';

/** Every domain event feeds the read models; each handler only names its event and hands it over. */
@Controller()
export class ProjectEventHandler {
  constructor(private readonly service: ProjectEventService) {}

  @OnAnalyticsEvent(OrderPlaced)
  placed(@Payload() e: EventEnvelope<OrderPlacedPayload, 'order.placed'>): Promise<void> {
    return this.service.project(e);
  }

  @OnAnalyticsEvent(OrderConfirmed)
  confirmed(@Payload() e: EventEnvelope<OrderConfirmedPayload, 'order.confirmed'>): Promise<void> {
    return this.service.project(e);
  }

  @OnAnalyticsEvent(OrderRejected)
  rejected(@Payload() e: EventEnvelope<OrderRejectedPayload, 'order.rejected'>): Promise<void> {
    return this.service.project(e);
  }

  @OnAnalyticsEvent(OrderCancelled)
  cancelled(@Payload() e: EventEnvelope<OrderCancelledPayload, 'order.cancelled'>): Promise<void> {
    return this.service.project(e);
  }

  @OnAnalyticsEvent(StockReserved)
  stockReserved(@Payload() e: EventEnvelope<StockReservedPayload, 'stock.reserved'>): Promise<void> {
    return this.service.project(e);
  }

  @OnAnalyticsEvent(StockRejected)
  stockRejected(@Payload() e: EventEnvelope<StockRejectedPayload, 'stock.rejected'>): Promise<void> {
    return this.service.project(e);
  }

  @OnAnalyticsEvent(StockReleased)
  stockReleased(@Payload() e: EventEnvelope<StockReleasedPayload, 'stock.released'>): Promise<void> {
    return this.service.project(e);
  }

  @OnAnalyticsEvent(ProductUpserted)
  productUpserted(@Payload() e: EventEnvelope<ProductUpsertedPayload, 'product.upserted'>): Promise<void> {
    return this.service.project(e);
  }
}
