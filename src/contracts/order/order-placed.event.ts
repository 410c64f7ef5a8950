import { ArrayMaxSize, ArrayMinSize } from 'class-validator';
import { defineEvent } from '../event-definition';
import { OrderLinePayload, OrderSnapshotPayload } from './order-line';

export class OrderPlacedPayload extends OrderSnapshotPayload {
  // An order has 1-100 lines (on top of the snapshot's rules for each line).
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  override items: OrderLinePayload[] = [];
}

export const OrderPlaced = defineEvent({
  type: 'order.placed',
  version: 1,
  topic: 'order.placed',
  payload: OrderPlacedPayload,
  key: (p) => p.orderId,
  producer: 'order',
  description: 'A customer placed an order; it waits for the warehouse to reserve stock.',
});
