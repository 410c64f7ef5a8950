import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  EventEnvelope,
  OrderCancelled,
  OrderCancelledPayload,
  OrderRejected,
  OrderRejectedPayload,
} from '../../../contracts';
import { OnWarehouseEvent } from '../warehouse-events';
import { ReleaseStockService } from './release-stock.service';

/** An order that ends without being fulfilled gives its stock back. */
@Controller()
export class OnOrderClosedHandler {
  constructor(private readonly service: ReleaseStockService) {}

  @OnWarehouseEvent(OrderCancelled)
  cancelled(@Payload() envelope: EventEnvelope<OrderCancelledPayload>): Promise<void> {
    return this.service.release(envelope, 'ORDER_CANCELLED');
  }

  @OnWarehouseEvent(OrderRejected)
  rejected(@Payload() envelope: EventEnvelope<OrderRejectedPayload>): Promise<void> {
    return this.service.release(envelope, 'ORDER_REJECTED');
  }
}
