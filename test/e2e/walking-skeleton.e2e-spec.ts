import { execFileSync } from 'node:child_process';
import { Admin, AssignerProtocol } from 'kafkajs';
import { expectEventually } from '../support/eventually';
import { topicSize, testKafka } from '../support/kafka';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

describe('walking skeleton: one order through every module group', () => {
  let stack: TestStack;
  let app: TestApp;
  let admin: Admin;

  beforeAll(async () => {
    stack = await createTestStack('skeleton');
    app = await startTestApp(stack);
    admin = testKafka(stack.brokers).admin();
    await admin.connect();
    await app.http.post('/products').set(app.admin).send({ sku: 'MUG', name: 'Mug', priceCents: 1200, stock: 50 }).expect(201);
    await expectEventually(async () => {
      const rows = await query(stack.databaseUrl, `SELECT 1 FROM orders.catalogue WHERE sku = 'MUG'`);
      expect(rows).toHaveLength(1);
    });
  });

  afterAll(async () => {
    await admin?.disconnect();
    await app?.close();
    await stack?.drop();
  });

  const summary = async () => (await app.http.get('/analytics/summary').expect(200)).body;
  const stock = async () => (await app.http.get('/products/MUG').expect(200)).body as { available: number; reserved: number };

  it('delivers order.placed to the warehouse, email and analytics groups, each applying it once', async () => {
    const [stockBefore, summaryBefore] = await Promise.all([stock(), summary()]);
    const res = await app.http
      .post('/orders')
      .send({ customerEmail: 'ada@example.com', items: [{ sku: 'MUG', quantity: 2 }] })
      .expect(201);
    expect(res.body).toMatchObject({ status: 'PENDING', totalCents: 2400, items: [{ sku: 'MUG', quantity: 2, unitPriceCents: 1200 }] });
    const orderId: string = res.body.id;

    await expectEventually(async () => {
      const order = await app.http.get(`/orders/${orderId}`).expect(200);
      expect(order.body.status).toBe('CONFIRMED');
    });
    // Each group's effect, counted: applied twice, the stock would move by 4, two placed mails would
    // be owed, the analytics counters would move by 2.
    await expectEventually(async () => {
      const mails = await query<{ kind: string }>(stack.databaseUrl, 'SELECT kind FROM email.sent_mails WHERE order_id = $1 ORDER BY seq', [orderId]);
      expect(mails.map((m) => m.kind)).toEqual(['ORDER_PLACED', 'ORDER_CONFIRMED']);
      const s = await summary();
      expect(s.orders.placed - summaryBefore.orders.placed).toBe(1);
      expect(s.orders.byStatus.CONFIRMED - summaryBefore.orders.byStatus.CONFIRMED).toBe(1);
    });
    expect(await stock()).toMatchObject({ available: stockBefore.available - 2, reserved: stockBefore.reserved + 2 });
  });

  it('keeps TCP keepalive on every connection it holds to Postgres (Linux: read with ss)', async () => {
    const sockets = await query<{ name: string; port: number }>(
      stack.databaseUrl,
      `SELECT application_name AS name, client_port AS port FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'shop:%'`,
    );
    // The relays' LISTEN connections stay open: one per module at least, beside the pools'.
    expect(sockets.filter((s) => s.name.endsWith(':outbox-relay'))).toHaveLength(4);
    const found = sockets.flatMap(({ name, port }) => {
      // The app's end of the connection (Postgres keeps keepalive on its own end anyway).
      const line = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }).trim();
      return line ? [{ name, keepalive: /timer:\(keepalive/.test(line) }] : []; // a pool connection may close meanwhile
    });
    expect(found.length).toBeGreaterThanOrEqual(4);
    expect(found.filter((f) => !f.keepalive)).toEqual([]);
  });

  it('has exactly one consumer group per module on the broker, named after the module', async () => {
    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(stack.prefix));
    expect(ours.sort()).toEqual(['analytics', 'email', 'order', 'warehouse'].map((m) => `${stack.prefix}${m}`));
    const described = await admin.describeGroups(ours);
    for (const group of described.groups) expect(group.members).toHaveLength(1);
  });

  it('rejects bad input with 400 naming each failing field, and stores or emits nothing', async () => {
    const before = await topicSize(admin, `${stack.prefix}order.placed`);
    const [{ n: ordersBefore }] = await query<{ n: number }>(stack.databaseUrl, 'SELECT count(*)::int AS n FROM orders.orders');
    const res = await app.http
      .post('/orders')
      .send({ customerEmail: 'not-an-email', items: [{ sku: 'MUG', quantity: 0 }], coupon: 'FREE' })
      .expect(400);
    const message = (res.body.message as string[]).join(' | ');
    expect(message).toContain('customerEmail must be an email');
    expect(message).toContain('items.0.quantity must not be less than 1');
    expect(message).toContain('property coupon should not exist');

    const [{ n: ordersAfter }] = await query<{ n: number }>(stack.databaseUrl, 'SELECT count(*)::int AS n FROM orders.orders');
    expect(ordersAfter).toBe(ordersBefore);
    expect(await topicSize(admin, `${stack.prefix}order.placed`)).toBe(before);
  });

  it('a second instance joining the same groups shares the work without processing anything twice', async () => {
    const [before, summaryBefore] = await Promise.all([stock(), summary()]);
    const second = await startTestApp(stack);
    try {
      // Both members hold partitions of order.placed once the group has settled: the work is shared.
      await expectEventually(async () => {
        const { groups } = await admin.describeGroups([`${stack.prefix}warehouse`]);
        expect(groups[0].members).toHaveLength(2);
        const held = groups[0].members.map((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[`${stack.prefix}order.placed`] ?? []);
        expect(held.map((partitions) => partitions.length > 0)).toEqual([true, true]);
      });
      const placed = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? app : second).http
            .post('/orders')
            .send({ customerEmail: `c${i}@example.com`, items: [{ sku: 'MUG', quantity: 1 }] })
            .expect(201),
        ),
      );
      await expectEventually(async () => {
        const statuses = await Promise.all(placed.map((p) => app.http.get(`/orders/${p.body.id}`).then((r) => r.body.status)));
        expect(statuses.every((s) => s === 'CONFIRMED')).toBe(true);
      }, 30_000);
      // Each reservation applied exactly once, whichever instance handled it.
      expect(await stock()).toMatchObject({ available: before.available - 20, reserved: before.reserved + 20 });
      await expectEventually(async () => {
        const s = await summary();
        expect(s.orders.placed - summaryBefore.orders.placed).toBe(20);
      });
    } finally {
      await second.close();
    }
  });
});
