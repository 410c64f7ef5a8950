import { defineEvent } from '../event-definition';
import { OrderSnapshotPayload } from './order-line';

// Its lines' rules are the snapshot's: a subclass that decorated `items` again would drop them, as
// class-validator keeps an inherited rule only when the subclass has none of its kind on the property.
export class OrderPlacedPayload extends OrderSnapshotPayload {}

export const OrderPlaced = defineEvent({
  type: 'order.placed',
  version: 1,
  topic: 'order.placed',
  payload: OrderPlacedPayload,
  key: (p) => p.orderId,
  producer: 'order',
  description: 'A customer placed an order; it waits for the warehouse to reserve stock.',
});
