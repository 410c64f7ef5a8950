import { getDataSourceToken } from '@nestjs/typeorm';
import { Client } from 'pg';
import { Response } from 'supertest';
import { expectEventually } from '../support/eventually';
import { testKafka, topicSize } from '../support/kafka';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';
import { DataSource } from 'typeorm';

/**
 * Admission control of POST /orders: once ORDER_MAX_PENDING orders are in progress in the process,
 * the next one is refused at once with 503 + Retry-After, and nothing of it is written.
 */
describe('POST /orders under overload', () => {
  let stack: TestStack;
  let app: TestApp;

  beforeAll(async () => {
    stack = await createTestStack('overload');
    // The order module alone; one transaction per order, so each waiting order holds its own connection.
    // Sessions idle inside a transaction end after 1.5 s (waiting on a lock is not idle).
    app = await startTestApp(stack, {
      MODULES: 'order',
      ORDER_MAX_PENDING: '2',
      ORDER_GROUP_COMMIT_WINDOW_MS: '0',
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1500',
    });
    await query(stack.databaseUrl, `INSERT INTO orders.catalogue (sku, name, price_cents, updated_at) VALUES ('MUG', 'Mug', 1200, now())`);
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  const order = (key: string) =>
    app.http.post('/orders').set('Idempotency-Key', key).send({ customerEmail: 'ada@example.com', items: [{ sku: 'MUG', quantity: 1 }] });

  it('refuses the order past ORDER_MAX_PENDING in progress with 503 OVERLOADED and Retry-After, writes none of it, and takes orders again once they finish', async () => {
    const blocker = new Client({ connectionString: stack.databaseUrl });
    await blocker.connect();
    let waiting: Promise<Response>[] = [];
    try {
      // Two orders that cannot finish: their INSERT waits for the table the test holds.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE orders.orders IN ACCESS EXCLUSIVE MODE');
      waiting = [order('slow-1'), order('slow-2')].map((r) => r.then((res) => res));
      await expectEventually(async () => {
        const blocked = await query(stack.databaseUrl, `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO "orders".orders%'`);
        expect(blocked).toHaveLength(2);
      });

      const refused = await order('refused-1');
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toMatchObject({ statusCode: 503, code: 'OVERLOADED' });
      expect(refused.body.message).toContain('ORDER_MAX_PENDING');
      await blocker.query('COMMIT');
    } finally {
      await blocker.end();
    }
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([201, 201]);

    // The refused order left no order, no event and no Idempotency-Key: sent again, it is placed.
    const placed = await query<{ n: number }>(stack.databaseUrl, 'SELECT count(*)::int AS n FROM orders.orders');
    expect(placed[0].n).toBe(2);
    const keys = await query<{ key: string }>(stack.databaseUrl, 'SELECT key FROM orders.idempotency_keys ORDER BY key');
    expect(keys.map((k) => k.key)).toEqual(['slow-1', 'slow-2']);
    const admin = testKafka(stack.brokers).admin();
    await admin.connect();
    try {
      await expectEventually(async () => {
        const outbox = await query<{ n: number }>(stack.databaseUrl, 'SELECT count(*)::int AS n FROM orders.outbox');
        expect(outbox[0].n).toBe(0);
        expect(await topicSize(admin, `${stack.prefix}order.placed`)).toBe(2);
      });
    } finally {
      await admin.disconnect();
    }
    const again = await order('refused-1');
    expect(again.status).toBe(201);
  });

  it('does not wait forever for a transaction of the app that froze holding an Idempotency-Key: Postgres ends that session, and the order is placed', async () => {
    // A request of this app frozen mid-transaction (a paused VM, a stuck loop): it claimed its key on
    // one of the app's own pooled connections and sends nothing more.
    const frozen = app.app.get<DataSource>(getDataSourceToken('order')).createQueryRunner();
    await frozen.connect();
    await frozen.startTransaction();
    await frozen.query(
      `INSERT INTO orders.idempotency_keys (key, request_hash, status_code, response, expires_at) VALUES ('frozen-1', 'x', 0, 'null', now() + interval '1 day')`,
    );
    try {
      // The retry of that request waits on the key's row until Postgres ends the idle session.
      const res = await order('frozen-1').timeout(20_000);
      expect(res.status).toBe(201);
      // TypeORM let go of the runner when Postgres ended its session.
      await expect(frozen.query('SELECT 1')).rejects.toThrow(/released/);
    } finally {
      await frozen.release().catch(() => undefined);
    }
    const keys = await query<{ request_hash: string; status_code: number }>(stack.databaseUrl, `SELECT request_hash, status_code FROM orders.idempotency_keys WHERE key = 'frozen-1'`);
    expect(keys).toEqual([{ request_hash: expect.not.stringMatching(/^x$/), status_code: 201 }]);
    // The pool lost a connection, not its way: the next order goes through.
    expect((await order('after-frozen')).status).toBe(201);
  });
});
