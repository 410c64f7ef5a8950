import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { EventEnvelope, OrderPlaced, OrderPlacedPayload } from '../../../contracts';
import { OnWarehouseEvent } from '../warehouse-events';
import { ReserveStockService } from './reserve-stock.service';

@Controller()
export class OnOrderPlacedHandler {
  constructor(private readonly service: ReserveStockService) {}

  @OnWarehouseEvent(OrderPlaced)
  handle(@Payload() envelope: EventEnvelope<OrderPlacedPayload>): Promise<void> {
    return this.service.reserve(envelope);
  }
}
