import type { EventType } from './index';

const line = { sku: 'SKU-1', quantity: 2, unitPriceCents: 150 };
const at = '2026-01-01T00:00:00.000Z';
export const EXAMPLE_ORDER_ID = '3f1c4f5e-8a2b-4c3d-9e0f-112233445566';
const orderId = EXAMPLE_ORDER_ID;
const common = { orderId, customerEmail: 'a@example.com', items: [line], totalCents: 300, placedAt: at };

/** One valid example per event: what a producer emits today (for contract tests). */
export const examples: { [K in EventType]: object } = {
  'order.placed': common,
  'order.confirmed': { ...common, confirmedAt: at },
  'order.rejected': { ...common, reason: 'OUT_OF_STOCK', skus: ['SKU-1'], rejectedAt: at },
  'order.cancelled': { ...common, previousStatus: 'CONFIRMED', cancelledAt: at },
  'product.upserted': { sku: 'SKU-1', name: 'Mug', priceCents: 150, available: 3, updatedAt: at },
  'stock.reserved': { orderId, items: [{ sku: 'SKU-1', quantity: 2 }], reservedAt: at },
  'stock.rejected': { orderId, reason: 'OUT_OF_STOCK', skus: ['SKU-1'], rejectedAt: at },
  'stock.released': { orderId, items: [{ sku: 'SKU-1', quantity: 2 }], reason: 'ORDER_CANCELLED', releasedAt: at },
};

