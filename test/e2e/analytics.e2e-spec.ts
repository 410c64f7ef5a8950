import { randomUUID } from 'node:crypto';
import { Kafka } from 'kafkajs';
import { OrderConfirmed, OrderPlaced } from '../../src/contracts';
import { orderRef } from '../../src/modules/analytics/live/live-change';
import { LiveFeed } from '../../src/modules/analytics/live/live-feed';
import { ReadModels } from '../../src/modules/analytics/read-models';
import { OverloadedError } from '../../src/platform/http/overloaded.error';
import { expectEventually } from '../support/eventually';
import { envelopeOf, placedPayload, publish, testKafka } from '../support/kafka';
import { createProduct, orderReaches, placeOrder } from '../support/shop';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

describe('analytics read models', () => {
  let stack: TestStack;
  let app: TestApp;
  let kafka: Kafka;

  beforeAll(async () => {
    stack = await createTestStack('analytics');
    app = await startTestApp(stack, { ANALYTICS_READ_TIMEOUT_MS: '1000' });
    kafka = testKafka(stack.brokers);
    await createProduct(app, stack, 'MUG', 100, 1200);
    await createProduct(app, stack, 'LAMP', 1, 5000);
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  const summary = async () => (await app.http.get('/analytics/summary').expect(200)).body;

  it('shows orders placed through the API in /analytics/summary with exact counts, revenue and reasons', async () => {
    const mugs = [];
    for (let i = 0; i < 3; i++) mugs.push(await placeOrder(app, [{ sku: 'MUG', quantity: 2 }]));
    const lamp = await placeOrder(app, [{ sku: 'LAMP', quantity: 1 }]);
    await orderReaches(app, lamp.id, 'CONFIRMED');
    const noLamp = await placeOrder(app, [{ sku: 'LAMP', quantity: 1 }]);
    await orderReaches(app, noLamp.id, 'REJECTED');
    for (const m of mugs) await orderReaches(app, m.id, 'CONFIRMED');
    await app.http.post(`/orders/${mugs[0].id}/cancel`).expect(200);

    await expectEventually(async () => {
      const s = await summary();
      expect(s.orders).toEqual({ placed: 5, byStatus: { PENDING: 0, CONFIRMED: 3, REJECTED: 1, CANCELLED: 1 } });
      // 3 × 2 × 12.00 + 50.00 confirmed; one mug order (24.00) cancelled after confirmation.
      expect(s.revenue).toEqual({ confirmedCents: 12_200, cancelledCents: 2_400, netCents: 9_800 });
      expect(s.averageOrderValueCents).toBe(3_267);
      expect(s.rejectionReasons).toMatchObject({ OUT_OF_STOCK: 1, UNKNOWN_SKU: 0 });
      expect(s.stock.reserved).toBe(4);
      expect(s.topProducts.byUnits).toEqual([
        { sku: 'MUG', name: 'Product MUG', units: 4, revenueCents: 4_800 },
        { sku: 'LAMP', name: 'Product LAMP', units: 1, revenueCents: 5_000 },
      ]);
      expect(s.topProducts.byRevenue.map((p: { sku: string }) => p.sku)).toEqual(['LAMP', 'MUG']);
      expect(s.latency.decided).toBe(5);
      expect(s.latency.p50Ms).toBeGreaterThanOrEqual(0);
      expect(s.latency.p99Ms).toBeGreaterThanOrEqual(s.latency.p50Ms);
      expect(s.recentOrders).toHaveLength(5);
      expect(s.recentOrders[0]).toMatchObject({ orderRef: orderRef(noLamp.id), status: 'REJECTED', rejectionReason: 'OUT_OF_STOCK' });
      // The summary is public: it names orders, but never by the id that reads or cancels one.
      expect(JSON.stringify(s)).not.toContain(noLamp.id);
    });
  });

  it('serves the same numbers per minute bucket from /analytics/timeseries', async () => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const from = new Date(Date.now() - 10 * 60_000).toISOString();
    const res = await app.http.get('/analytics/timeseries').query({ from, to, bucket: '1m' }).expect(200);
    const sum = (f: string) => res.body.points.reduce((s: number, p: Record<string, number>) => s + p[f], 0);
    expect(res.body.points.length).toBeGreaterThanOrEqual(11);
    expect({ placed: sum('placed'), confirmed: sum('confirmed'), rejected: sum('rejected'), cancelled: sum('cancelled') }).toEqual({
      placed: 5,
      confirmed: 4,
      rejected: 1,
      cancelled: 1,
    });
    expect(sum('revenueCents')).toBe(9_800);
    const decided = res.body.points.reduce((s: number, p: { latency: { decided: number } }) => s + p.latency.decided, 0);
    expect(decided).toBe(5);
  });

  it('rejects an unknown bucket size, a range of too many buckets and times it cannot read with 400', async () => {
    await app.http.get('/analytics/timeseries').query({ bucket: '2m' }).expect(400);
    const res = await app.http
      .get('/analytics/timeseries')
      .query({ from: '2025-01-01T00:00:00Z', to: '2025-01-03T00:00:00Z', bucket: '1m' })
      .expect(400);
    expect(JSON.stringify(res.body)).toContain('at most 1440');
    // ISO 8601 forms JavaScript cannot read (they answered 500).
    for (const to of ['20240101', '2024-W01-1', '2024-01-01T10']) {
      const bad = await app.http.get('/analytics/timeseries').query({ to });
      expect([bad.status, to]).toEqual([400, to]);
    }
    // A default `from` before year 1 (Postgres has none: it answered 500), and a time of day without a zone
    // (read in the server's own zone, so the same request meant another window on another server).
    for (const query of [{ to: '0001-01-01T10:00:00Z', bucket: '1h' }, { to: '2026-03-29T02:30:00' }, { from: '2026-03-29T01:00:00', to: '2026-03-29T03:00:00Z' }]) {
      const bad = await app.http.get('/analytics/timeseries').query(query);
      expect([bad.status, query]).toEqual([400, query]);
    }
    const zoned = await app.http.get('/analytics/timeseries').query({ from: '2026-03-29T01:00:00+02:00', to: '2026-03-29' }).expect(200);
    expect([zoned.body.from, zoned.body.to]).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T00:00:00.000Z']);
  });

  it('takes all of the minute a `to` falls inside, for the counts and the latency alike', async () => {
    const res = await app.http.get('/analytics/timeseries').query({ from: '2026-12-07T10:00:00Z', to: '2026-12-07T10:00:30Z' }).expect(200);
    expect([res.body.to, res.body.points.map((p: { at: string }) => p.at)]).toEqual(['2026-12-07T10:01:00.000Z', ['2026-12-07T10:00:00.000Z']]);
  });

  it('cancels a read of the read models longer than ANALYTICS_READ_TIMEOUT_MS with a 503-bound error, and keeps answering', async () => {
    const reads = app.app.get(ReadModels);
    const started = Date.now();
    await expect(reads.inSnapshot((m) => m.query('SELECT pg_sleep(3)'))).rejects.toThrow(OverloadedError);
    expect(Date.now() - started).toBeLessThan(2500); // cancelled at about 1 s, not after the 3 s
    await app.http.get('/analytics/summary').expect(200);
  });

  it('answers reads beyond half of DATABASE_POOL_SIZE at once with a 503-bound error instead of queueing them for the projections\' pool', async () => {
    const reads = app.app.get(ReadModels);
    const max = Math.floor(app.env.DATABASE_POOL_SIZE / 2);
    const results = await Promise.allSettled(Array.from({ length: max + 2 }, () => reads.inSnapshot((m) => m.query('SELECT pg_sleep(0.3)'))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(max);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toEqual([
      expect.any(OverloadedError),
      expect.any(OverloadedError),
    ]);
    await app.http.get('/analytics/summary').expect(200);
  });

  it('counts a redelivered or re-emitted event once and a late order.placed after its confirmation as one order', async () => {
    const before = await summary();
    const orderId = randomUUID();
    const base = placedPayload({ orderId, customerEmail: 'late@example.com', unitPriceCents: 1200, placedAt: new Date(Date.now() - 3000).toISOString() });
    const confirmed = envelopeOf(OrderConfirmed, { ...base, confirmedAt: new Date().toISOString() });
    const placed = envelopeOf(OrderPlaced, base);
    const reEmitted = { ...confirmed, eventId: randomUUID() };
    // Confirmation first, then the same message again, a copy under a new id, and only then order.placed.
    for (const value of [confirmed, confirmed, reEmitted, placed]) {
      await publish(kafka, `${stack.prefix}${value.type}`, [{ key: orderId, value }]);
    }

    await expectEventually(async () => {
      const rows = await query<{ n: number }>(
        stack.databaseUrl,
        `SELECT count(*)::int AS n FROM analytics.inbox WHERE event_id = ANY($1::uuid[])`,
        [[confirmed.eventId, reEmitted.eventId, placed.eventId]],
      );
      expect(rows[0].n).toBe(3);
    });
    const after = await summary();
    expect(after.orders.placed).toBe(before.orders.placed + 1);
    expect(after.orders.byStatus).toEqual({ ...before.orders.byStatus, CONFIRMED: before.orders.byStatus.CONFIRMED + 1 });
    expect(after.revenue.confirmedCents).toBe(before.revenue.confirmedCents + 1200);
    expect(after.version).toBeGreaterThan(before.version);
    // The dashboard's feed shows the order's confirmation once, not once more for the copy.
    const feed = app.app.get(LiveFeed);
    const rows = feed.after(feed.start).changes.filter((c) => c.feed.key === orderRef(orderId) && c.feed.type === 'order.confirmed');
    expect(rows).toHaveLength(1);
  });
});
