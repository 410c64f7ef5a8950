import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { EventEnvelopeSchema, EVENTS, EventType } from './index';

const fieldsOf = (cls: new () => object) =>
  [...new Set(getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false).map((m) => m.propertyName))].sort();

const line = { sku: 'SKU-1', quantity: 2, unitPriceCents: 150 };
const at = '2026-01-01T00:00:00.000Z';
const orderId = '3f1c4f5e-8a2b-4c3d-9e0f-112233445566';
const common = { orderId, customerEmail: 'a@example.com', items: [line], totalCents: 300, placedAt: at };

/** One valid example per event: what a producer emits today. */
const examples: { [K in EventType]: object } = {
  'order.placed': common,
  'order.confirmed': { ...common, confirmedAt: at },
  'order.rejected': { ...common, reason: 'OUT_OF_STOCK', skus: ['SKU-1'], rejectedAt: at },
  'order.cancelled': { ...common, previousStatus: 'CONFIRMED', cancelledAt: at },
  'product.upserted': { sku: 'SKU-1', name: 'Mug', priceCents: 150, available: 3, updatedAt: at },
  'stock.reserved': { orderId, items: [{ sku: 'SKU-1', quantity: 2 }], reservedAt: at },
  'stock.rejected': { orderId, reason: 'OUT_OF_STOCK', skus: ['SKU-1'], rejectedAt: at },
  'stock.released': { orderId, items: [{ sku: 'SKU-1', quantity: 2 }], reason: 'ORDER_CANCELLED', releasedAt: at },
};

describe('event contracts', () => {
  it.each(Object.keys(EVENTS) as EventType[])('%s accepts its example and keys it by its aggregate', (type) => {
    const def = EVENTS[type];
    const payload = plainToInstance(def.payload as new () => object, examples[type]);
    expect(validateSync(payload)).toEqual([]);
    expect(def.key(examples[type] as never)).toBe(type === 'product.upserted' ? 'SKU-1' : orderId);
    expect(def.topic).toBe(type);
    expect(def.version).toBe(1);
  });

  it.each(Object.keys(EVENTS) as EventType[])('%s rejects a payload missing any required field', (type) => {
    const def = EVENTS[type];
    for (const field of Object.keys(examples[type])) {
      const broken = { ...examples[type] } as Record<string, unknown>;
      delete broken[field];
      expect(validateSync(plainToInstance(def.payload as new () => object, broken)).length).toBeGreaterThan(0);
    }
  });

  // Pinned shapes: changing one is a breaking change for consumers; add a new version instead.
  it('pins the field set of every payload', () => {
    const shapes = Object.fromEntries((Object.keys(EVENTS) as EventType[]).map((t) => [t, fieldsOf(EVENTS[t].payload as new () => object)]));
    expect(shapes).toEqual({
      'order.placed': ['customerEmail', 'items', 'orderId', 'placedAt', 'totalCents'],
      'order.confirmed': ['confirmedAt', 'customerEmail', 'items', 'orderId', 'placedAt', 'totalCents'],
      'order.rejected': ['customerEmail', 'items', 'orderId', 'placedAt', 'reason', 'rejectedAt', 'skus', 'totalCents'],
      'order.cancelled': ['cancelledAt', 'customerEmail', 'items', 'orderId', 'placedAt', 'previousStatus', 'totalCents'],
      'product.upserted': ['available', 'name', 'priceCents', 'sku', 'updatedAt'],
      'stock.reserved': ['items', 'orderId', 'reservedAt'],
      'stock.rejected': ['orderId', 'reason', 'rejectedAt', 'skus'],
      'stock.released': ['items', 'orderId', 'reason', 'releasedAt'],
    });
    expect(fieldsOf(EventEnvelopeSchema)).toEqual(['causationId', 'correlationId', 'eventId', 'key', 'occurredAt', 'payload', 'producer', 'type', 'version']);
  });
});
