import { Client } from 'pg';
import { GroupActiveError } from '../../src/platform/kafka/consumer-offsets';
import { rebuildAnalytics } from '../../src/modules/analytics/rebuild/rebuild-analytics';
import { expectEventually } from '../support/eventually';
import { createProduct, orderReaches, placeOrder } from '../support/shop';
import { createTestStack, startTestApp, testEnvironment, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';
import { testKafka } from '../support/kafka';

describe('analytics rebuild from the topics', () => {
  let stack: TestStack;
  let app: TestApp | undefined;

  beforeAll(async () => {
    stack = await createTestStack('rebuild');
    app = await startTestApp(stack);
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  // One fixed window for every read, so live and rebuilt answers cover the same buckets.
  const from = new Date(Date.now() - 10 * 60_000).toISOString();
  const to = new Date(Date.now() + 10 * 60_000).toISOString();

  /**
   * Everything the read API answers, minus the moment it answered and the version: that is the live
   * stream's cursor (one per committed projection transaction, and a consumer commits several
   * events at once as it sees fit), not data; it only has to have moved.
   */
  async function readModels(a: TestApp) {
    const { asOf: _asOf, version, ...summary } = (await a.http.get('/analytics/summary').expect(200)).body;
    expect(version).toBeGreaterThan(0);
    const { points } = (await a.http.get('/analytics/timeseries').query({ from, to }).expect(200)).body;
    return { summary, points };
  }

  it('rebuilds read models equal to the live-built ones, and refuses while analytics is consuming', async () => {
    const live = app!;
    await createProduct(live, stack, 'MUG', 100, 1200);
    await createProduct(live, stack, 'LAMP', 2, 5000);
    const placed = [];
    for (const [sku, quantity] of [['MUG', 1], ['LAMP', 1], ['MUG', 3], ['LAMP', 1], ['LAMP', 1], ['MUG', 2]] as const) {
      placed.push(await placeOrder(live, [{ sku, quantity }]));
    }
    const final = await Promise.all(placed.map((o) => expectEventually(async () => {
      const res = await live.http.get(`/orders/${o.id}`).expect(200);
      expect(res.body.status).not.toBe('PENDING');
      return res.body as { id: string; status: string };
    })));
    const toCancel = final.find((o) => o.status === 'CONFIRMED')!;
    await live.http.post(`/orders/${toCancel.id}/cancel`).expect(200);
    await orderReaches(live, toCancel.id, 'CANCELLED');

    const before = await expectEventually(async () => {
      const m = await readModels(live);
      expect(m.summary.orders.placed).toBe(6);
      // Two of three LAMP orders fit its stock of 2; one confirmed order is cancelled.
      expect(m.summary.orders.byStatus).toEqual({ PENDING: 0, CONFIRMED: 4, REJECTED: 1, CANCELLED: 1 });
      expect(m.summary.stock.released).toBeGreaterThanOrEqual(1);
      return m;
    });
    // Let the last events (stock.released after the cancel) land, then freeze the expected state.
    const expected = await expectEventually(async () => {
      const again = await readModels(live);
      const [{ pending }] = await query<{ pending: number }>(
        stack.databaseUrl,
        `SELECT (SELECT count(*) FROM orders.outbox) + (SELECT count(*) FROM warehouse.outbox) AS pending`,
      );
      expect(Number(pending)).toBe(0);
      expect(again).toEqual(before);
      return again;
    });

    await expect(rebuildAnalytics(testEnvironment(stack))).rejects.toThrow(GroupActiveError);
    const [{ facts }] = await query<{ facts: number }>(stack.databaseUrl, 'SELECT count(*)::int AS facts FROM analytics.order_facts');
    expect(facts).toBe(6);

    await live.close();
    app = undefined;
    const report = await rebuildAnalytics(testEnvironment(stack));
    expect(report.partitions.length).toBeGreaterThan(0);
    expect(report.partitions.every((p) => p.offset === '0')).toBe(true);
    const [{ n }] = await query<{ n: number }>(
      stack.databaseUrl,
      'SELECT (SELECT count(*) FROM analytics.order_facts) + (SELECT count(*) FROM analytics.inbox) + (SELECT count(*) FROM analytics.totals) AS n',
    );
    expect(Number(n)).toBe(0);

    app = await startTestApp(stack);
    const rebuilt = app;
    await expectEventually(async () => expect(await readModels(rebuilt)).toEqual(expected), 60_000, 250);

    // Retention deletes the start of a partition of order.placed: a rebuild would lose those orders for good.
    await rebuilt.close();
    app = undefined;
    const admin = testKafka(stack.brokers).admin();
    await admin.connect();
    try {
      const topic = `${stack.prefix}order.placed`;
      const held = (await admin.fetchTopicOffsets(topic)).find((p) => Number(p.high) > 0)!;
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: held.partition, offset: '1' }] });
    } finally {
      await admin.disconnect();
    }
    await expect(rebuildAnalytics(testEnvironment(stack))).rejects.toThrow(/no longer hold their whole history[\s\S]*--accept-partial/);
    const [{ kept }] = await query<{ kept: number }>(stack.databaseUrl, 'SELECT count(*)::int AS kept FROM analytics.order_facts');
    expect(kept).toBe(6);
    await expect(rebuildAnalytics(testEnvironment(stack), { acceptPartial: true })).resolves.toMatchObject({ groupId: `${stack.prefix}analytics` });
  });

  it('empties nothing when an analytics consumer joined after the offsets moved (checked with the read models locked)', async () => {
    const own = await createTestStack('rebuildrace');
    let consumer: TestApp | undefined;
    const holder = new Client({ connectionString: own.databaseUrl });
    try {
      const shop = await startTestApp(own);
      await createProduct(shop, own, 'MUG', 10, 1200);
      const order = await placeOrder(shop, [{ sku: 'MUG', quantity: 1 }]);
      await orderReaches(shop, order.id, 'CONFIRMED');
      await expectEventually(async () => expect(await query(own.databaseUrl, 'SELECT 1 FROM analytics.order_facts')).toHaveLength(1));
      await shop.close();

      // A session holds a read model: the rebuild moves the offsets, then waits for its lock.
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE analytics.totals IN SHARE MODE');
      const rebuild = rebuildAnalytics(testEnvironment(own)).then(
        () => 'rebuilt',
        (e: Error) => e.message,
      );
      await expectEventually(async () => {
        const waiting = await query(own.databaseUrl, `SELECT 1 FROM pg_stat_activity WHERE application_name = 'shop:analytics-rebuild' AND wait_event_type = 'Lock'`);
        expect(waiting).toHaveLength(1);
      }, 30_000, 100);
      // Meanwhile an analytics consumer starts (a supervisor's restart) and joins the group.
      consumer = await startTestApp(own, { MODULES: 'analytics' });
      await holder.query('COMMIT');
      expect(await rebuild).toMatch(/nothing was emptied/);
      const [{ facts }] = await query<{ facts: number }>(own.databaseUrl, 'SELECT count(*)::int AS facts FROM analytics.order_facts');
      expect(facts).toBe(1);
    } finally {
      await holder.end().catch(() => undefined);
      await consumer?.close();
      await own.drop();
    }
  });
});
