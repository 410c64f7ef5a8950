import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { EventEnvelope, EventMap, OrderLinePayload } from '../../../contracts';
import { counterKey, diffContributions, minuteOf } from './contributions';
import { applyToFact, decisionOf, emptyFact, OrderEventType, OrderFact, statusOf } from './order-fact';

type OrderEnvelope = { [K in OrderEventType]: EventEnvelope<EventMap[K], K> }[OrderEventType];

/** The projection as the service runs it, in memory: inbox, facts, counters. */
class Projector {
  readonly inbox = new Set<string>();
  readonly facts = new Map<string, OrderFact>();
  readonly counters = new Map<string, number>();

  apply(e: OrderEnvelope): void {
    if (this.inbox.has(e.eventId)) return;
    this.inbox.add(e.eventId);
    const before = this.facts.get(e.payload.orderId) ?? emptyFact(e.payload.orderId);
    const after = applyToFact(before, e);
    this.facts.set(e.payload.orderId, after);
    for (const d of diffContributions(before, after)) {
      const key = counterKey(d.counter);
      const value = (this.counters.get(key) ?? 0) + d.amount;
      if (value === 0) this.counters.delete(key);
      else this.counters.set(key, value);
    }
  }

  counter(key: string): number {
    return this.counters.get(key) ?? 0;
  }
}

const T0 = Date.parse('2025-06-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function envelope<K extends OrderEventType>(type: K, payload: EventMap[K]): EventEnvelope<EventMap[K], K> {
  const id = randomUUID();
  return { eventId: id, type, version: 1, occurredAt: at(0), key: 'k', correlationId: id, causationId: id, producer: 'test', payload };
}

function order(items: OrderLinePayload[], placedSecond: number) {
  const orderId = randomUUID();
  const totalCents = items.reduce((s, i) => s + i.quantity * i.unitPriceCents, 0);
  const base = { orderId, customerEmail: 'ada@example.com', items, totalCents, placedAt: at(placedSecond) };
  return {
    orderId,
    totalCents,
    placed: () => envelope('order.placed', base),
    confirmed: (s: number) => envelope('order.confirmed', { ...base, confirmedAt: at(s) }),
    rejected: (s: number) =>
      envelope('order.rejected', { ...base, reason: 'OUT_OF_STOCK', skus: items.map((i) => i.sku), rejectedAt: at(s) }),
    cancelled: (s: number, previousStatus: 'PENDING' | 'CONFIRMED') =>
      envelope('order.cancelled', { ...base, previousStatus, cancelledAt: at(s) }),
    reserved: (s: number) =>
      envelope('stock.reserved', { orderId, items: items.map(({ sku, quantity }) => ({ sku, quantity })), reservedAt: at(s) }),
    stockRejected: (s: number) =>
      envelope('stock.rejected', { orderId, reason: 'OUT_OF_STOCK', skus: items.map((i) => i.sku), rejectedAt: at(s) }),
    released: (s: number) =>
      envelope('stock.released', {
        orderId,
        items: items.map(({ sku, quantity }) => ({ sku, quantity })),
        reason: 'ORDER_CANCELLED',
        releasedAt: at(s),
      }),
  };
}

/** Three orders through every path: confirmed then cancelled, rejected, confirmed. */
function story() {
  const a = order([{ sku: 'MUG', quantity: 2, unitPriceCents: 1200 }], 0);
  const b = order([{ sku: 'TEE', quantity: 5, unitPriceCents: 2000 }], 30);
  const c = order(
    [
      { sku: 'MUG', quantity: 1, unitPriceCents: 1200 },
      { sku: 'CAP', quantity: 3, unitPriceCents: 900 },
    ],
    70,
  );
  const events: OrderEnvelope[] = [
    a.placed(), a.reserved(1), a.confirmed(2), a.cancelled(125, 'CONFIRMED'), a.released(126),
    b.placed(), b.stockRejected(31), b.rejected(32),
    c.placed(), c.reserved(71), c.confirmed(72),
  ];
  return { a, b, c, events };
}

function project(events: OrderEnvelope[]): Projector {
  const p = new Projector();
  events.forEach((e) => p.apply(e));
  return p;
}

describe('analytics projections', () => {
  it('counts each order once under its current status and nets cancelled revenue out of confirmed revenue', () => {
    const { a, c, events } = story();
    const p = project(events);

    expect(p.counter('total|orders.placed')).toBe(3);
    expect(p.counter('total|orders.PENDING')).toBe(0);
    expect(p.counter('total|orders.CONFIRMED')).toBe(1);
    expect(p.counter('total|orders.REJECTED')).toBe(1);
    expect(p.counter('total|orders.CANCELLED')).toBe(1);
    expect(p.counter('total|revenue.confirmed_cents')).toBe(a.totalCents + c.totalCents);
    expect(p.counter('total|revenue.cancelled_cents')).toBe(a.totalCents);
    expect(p.counter('total|rejections.OUT_OF_STOCK')).toBe(1);
    expect(p.counter('total|stock.reserved')).toBe(2);
    expect(p.counter('total|stock.rejected.OUT_OF_STOCK')).toBe(1);
    expect(p.counter('total|stock.released')).toBe(1);
    // Top products count what was sold and kept: A's two mugs came back.
    expect(p.counter('product|MUG|units')).toBe(1);
    expect(p.counter('product|MUG|revenue_cents')).toBe(1200);
    expect(p.counter('product|CAP|units')).toBe(3);
    expect(p.counter('product|TEE|units')).toBe(0);
  });

  it('puts each event in the minute of its own business time, not the minute it was processed in', () => {
    const { a, c, events } = story();
    const p = project(events);
    const m = (second: number, field: string) => p.counter(`minute|${minuteOf(at(second))}|${field}`);

    expect(m(0, 'placed')).toBe(2); // A at 10:00:00, B at 10:00:30
    expect(m(70, 'placed')).toBe(1); // C at 10:01:10
    expect(m(0, 'confirmed')).toBe(1);
    expect(m(0, 'rejected')).toBe(1);
    expect(m(0, 'revenue_cents')).toBe(a.totalCents);
    expect(m(70, 'revenue_cents')).toBe(c.totalCents);
    expect(m(125, 'cancelled')).toBe(1); // 10:02:05
    expect(m(125, 'revenue_cents')).toBe(-a.totalCents);
  });

  it('reaches the same counters whatever order the events arrive in', () => {
    const { events } = story();
    const expected = project(events).counters;
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), (shuffled) => {
        expect(project(shuffled).counters).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('absorbs duplicates, whether redelivered with the same event id or re-emitted under a new one', () => {
    const { events } = story();
    const expected = project(events).counters;
    const redelivered = [...events, ...events];
    const reEmitted = [...events, ...events.map((e) => ({ ...e, eventId: randomUUID() }) as OrderEnvelope)];

    expect(project(redelivered).counters).toEqual(expected);
    expect(project(reEmitted).counters).toEqual(expected);
  });

  it('counts a late order.placed after order.confirmed as the same single confirmed order', () => {
    const x = order([{ sku: 'MUG', quantity: 1, unitPriceCents: 1200 }], 0);
    const p = new Projector();
    p.apply(x.confirmed(3));
    expect(p.counter('total|orders.CONFIRMED')).toBe(1);
    expect(p.counter('total|orders.placed')).toBe(1);

    p.apply(x.placed());
    expect(p.counter('total|orders.placed')).toBe(1);
    expect(p.counter('total|orders.PENDING')).toBe(0);
    expect(p.counter('total|orders.CONFIRMED')).toBe(1);
    expect(p.counter(`minute|${minuteOf(at(0))}|placed`)).toBe(1);
  });

  it('leaves revenue alone when an order is cancelled before it was confirmed', () => {
    const x = order([{ sku: 'MUG', quantity: 1, unitPriceCents: 1200 }], 0);
    const p = project([x.placed(), x.cancelled(5, 'PENDING')]);
    expect(p.counter('total|orders.CANCELLED')).toBe(1);
    expect(p.counter('total|revenue.cancelled_cents')).toBe(0);
    expect(p.counter(`minute|${minuteOf(at(5))}|revenue_cents`)).toBe(0);
  });

  it('knows no status for an order seen only through stock events, and counts it once order events arrive', () => {
    const x = order([{ sku: 'MUG', quantity: 1, unitPriceCents: 1200 }], 0);
    const p = project([x.reserved(1)]);
    expect(statusOf(p.facts.get(x.orderId)!)).toBeUndefined();
    expect(p.counter('total|orders.placed')).toBe(0);
    p.apply(x.placed());
    expect(statusOf(p.facts.get(x.orderId)!)).toBe('PENDING');
    expect(p.counter('total|orders.PENDING')).toBe(1);
  });

  it('measures the decision latency from placedAt to confirmedAt, from the confirmation alone', () => {
    const x = order([{ sku: 'MUG', quantity: 1, unitPriceCents: 1200 }], 0);
    const fact = applyToFact(emptyFact(x.orderId), x.confirmed(2));
    expect(decisionOf(fact)).toEqual({ decidedAt: at(2), latencyMs: 2000 });
    expect(decisionOf(applyToFact(emptyFact(x.orderId), x.placed()))).toBeUndefined();
  });

  it('floors a timestamp to the start of its UTC minute', () => {
    expect(minuteOf('2025-06-01T10:03:59.999Z')).toBe('2025-06-01T10:03:00.000Z');
    expect(minuteOf('2025-06-01T10:04:00.000Z')).toBe('2025-06-01T10:04:00.000Z');
  });
});
