import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { EXAMPLE_ORDER_ID as orderId, examples } from './contract-examples';
import { validateContract } from '../platform/kafka/contract-validator';
import { EventEnvelopeSchema, EVENTS, EventType, OrderCancelled, OrderConfirmed, OrderPlaced, OrderRejected } from './index';

const fieldsOf = (cls: new () => object) =>
  [...new Set(getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false).map((m) => m.propertyName))].sort();

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

  it.each([OrderPlaced, OrderConfirmed, OrderRejected, OrderCancelled].map((d) => [d.type, d] as const))(
    '%s refuses an order without lines, with more than 100, or naming a SKU on two lines',
    (type, def) => {
      const example = examples[type] as { items: { sku: string; quantity: number }[] };
      const line = example.items[0];
      const cases = [[], Array.from({ length: 101 }, (_, i) => ({ ...line, sku: `SKU-${i}` })), [line, line], [line, { ...line, quantity: line.quantity + 1 }]];
      for (const items of cases) {
        expect(validateContract(def.payload as new () => object, { ...example, items }).failed).toEqual(['items']);
      }
      expect(validateContract(def.payload as new () => object, example).failed).toEqual([]);
    },
  );
});
