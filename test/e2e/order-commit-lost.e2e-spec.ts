import { randomUUID } from 'node:crypto';
import { expectEventually } from '../support/eventually';
import { startPgProxy, PgProxy } from '../support/pg-proxy';
import { createProduct, orderReaches } from '../support/shop';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

/**
 * The answer to an order's COMMIT lost on the way back (a real Postgres behind a TCP proxy that cuts
 * the connection instead of passing that answer on): the order is in, and the app must not place it
 * a second time. Both ways an order is written: in a group commit, and alone (group commit off, and
 * the group commit's fallback).
 */
describe.each([
  ['in a group commit', 'commitlost', {}],
  ['alone (group commit off)', 'commitlostalone', { ORDER_GROUP_COMMIT_WINDOW_MS: '0' }],
])('placing an order %s when the database or the answer to its COMMIT is lost', (_, label, env: Record<string, string>) => {
  let stack: TestStack;
  let proxy: PgProxy;
  let app: TestApp;

  beforeAll(async () => {
    stack = await createTestStack(label);
    proxy = await startPgProxy(stack.databaseUrl);
    app = await startTestApp(stack, { DATABASE_URL: proxy.url, ...env });
    await createProduct(app, stack, 'LOST', 10);
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await stack?.drop();
  });

  it('answers 201 with the order that committed, and places no second one, for a request without an Idempotency-Key', async () => {
    const customerEmail = `lost-${randomUUID()}@example.com`;
    // Both paths' statements name the orders table with its columns.
    proxy.loseNextCommitAnswer('"orders".orders (id, customer_email');
    const res = await app.http.post('/orders').send({ customerEmail, items: [{ sku: 'LOST', quantity: 1 }] });
    expect(proxy.lost).toBe(1);
    expect(res.status).toBe(201);
    const rows = await query<{ id: string }>(stack.databaseUrl, `SELECT id FROM orders.orders WHERE customer_email = $1`, [customerEmail]);
    expect(rows.map((r) => r.id)).toEqual([res.body.id]);
    await orderReaches(app, res.body.id, 'CONFIRMED');
    await expectEventually(async () => {
      const [{ n }] = await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM warehouse.reservations r JOIN orders.orders o ON o.id = r.order_id WHERE o.customer_email = $1`, [customerEmail]);
      expect(n).toBe(1);
    });
  });

  it('answers 200 to a cancel whose COMMIT answer was lost, the order cancelled once, where it answered 503 and its retry 409', async () => {
    const placed = await app.http.post('/orders').send({ customerEmail: `cancel-${randomUUID()}@example.com`, items: [{ sku: 'LOST', quantity: 1 }] }).expect(201);
    await orderReaches(app, placed.body.id, 'CONFIRMED');
    // The cancel's statement locks the order and sets its status in one.
    proxy.loseNextCommitAnswer('"orders".orders o SET status = $2');
    const lostBefore = proxy.lost;
    const res = await app.http.post(`/orders/${placed.body.id}/cancel`);
    expect(proxy.lost).toBe(lostBefore + 1);
    expect({ status: res.status, order: res.body.status }).toEqual({ status: 200, order: 'CANCELLED' });
    const history = await query<{ status: string }>(stack.databaseUrl, `SELECT status FROM orders.order_status_history WHERE order_id = $1 ORDER BY id`, [placed.body.id]);
    expect(history.map((h) => h.status)).toEqual(['PENDING', 'CONFIRMED', 'CANCELLED']);
  });

  it('answers 503 with Retry-After while the database is away, and places the order once when the client sends it again with its key', async () => {
    const customerEmail = `away-${randomUUID()}@example.com`;
    const body = { customerEmail, items: [{ sku: 'LOST', quantity: 1 }] };
    const key = `away-${randomUUID()}`;
    proxy.goDown();
    try {
      const refused = await app.http.post('/orders').set('Idempotency-Key', key).send(body);
      expect({ status: refused.status, retryAfter: refused.headers['retry-after'], code: refused.body.code }).toEqual({
        status: 503,
        retryAfter: '1',
        code: 'SERVICE_UNAVAILABLE',
      });
      expect(refused.body.message).toContain('retry');
      // A read is refused the same way, not as a server fault.
      expect((await app.http.get('/products/LOST')).status).toBe(503);
    } finally {
      proxy.comeBack();
    }
    const placed = await app.http.post('/orders').set('Idempotency-Key', key).send(body).expect(201);
    const rows = await query<{ id: string }>(stack.databaseUrl, `SELECT id FROM orders.orders WHERE customer_email = $1`, [customerEmail]);
    expect(rows.map((r) => r.id)).toEqual([placed.body.id]);
  });
});
