import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, StockRejected, StockRejectedPayload, StockReserved, StockReservedPayload } from '../../../contracts';
import { OnOrderEvent } from '../order-events';
import { OnStockDecisionService } from './on-stock-decision.service';

/** The warehouse's answer to `order.placed` confirms or rejects the order. */
@Controller()
export class OnStockDecisionHandler {
  constructor(private readonly service: OnStockDecisionService) {}

  @OnOrderEvent(StockReserved)
  reserved(@Payload() envelope: EventEnvelope<StockReservedPayload>): Promise<void> {
    return this.service.confirm(envelope);
  }

  @OnOrderEvent(StockRejected)
  rejected(@Payload() envelope: EventEnvelope<StockRejectedPayload>): Promise<void> {
    return this.service.reject(envelope);
  }
}
