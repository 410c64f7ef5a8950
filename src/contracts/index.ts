import { EventDefinition } from './event-definition';
import { OrderCancelled, OrderCancelledPayload } from './order/order-cancelled.event';
import { OrderConfirmed, OrderConfirmedPayload } from './order/order-confirmed.event';
import { OrderPlaced, OrderPlacedPayload } from './order/order-placed.event';
import { OrderRejected, OrderRejectedPayload } from './order/order-rejected.event';
import { ProductUpserted, ProductUpsertedPayload } from './warehouse/product-upserted.event';
import { StockRejected, StockRejectedPayload } from './warehouse/stock-rejected.event';
import { StockReleased, StockReleasedPayload } from './warehouse/stock-released.event';
import { StockReserved, StockReservedPayload } from './warehouse/stock-reserved.event';

export * from './email-address';
export * from './envelope';
export * from './event-definition';
export * from './sku';
export * from './order/order-line';
export * from './order/order-placed.event';
export * from './order/order-confirmed.event';
export * from './order/order-rejected.event';
export * from './order/order-cancelled.event';
export * from './warehouse/stock-line';
export * from './warehouse/product-upserted.event';
export * from './warehouse/stock-reserved.event';
export * from './warehouse/stock-rejected.event';
export * from './warehouse/stock-released.event';

/** One typed map from event type to payload: emitters and handlers are checked against it. */
export interface EventMap {
  'order.placed': OrderPlacedPayload;
  'order.confirmed': OrderConfirmedPayload;
  'order.rejected': OrderRejectedPayload;
  'order.cancelled': OrderCancelledPayload;
  'product.upserted': ProductUpsertedPayload;
  'stock.reserved': StockReservedPayload;
  'stock.rejected': StockRejectedPayload;
  'stock.released': StockReleasedPayload;
}
export type EventType = keyof EventMap;

/** Every published event definition, by type. */
export const EVENTS: { [K in EventType]: EventDefinition<K, EventMap[K]> } = {
  'order.placed': OrderPlaced,
  'order.confirmed': OrderConfirmed,
  'order.rejected': OrderRejected,
  'order.cancelled': OrderCancelled,
  'product.upserted': ProductUpserted,
  'stock.reserved': StockReserved,
  'stock.rejected': StockRejected,
  'stock.released': StockReleased,
};

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENTS, type);
}
