import { randomUUID } from 'node:crypto';
import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { OrderCancelled, OrderPlaced, StockReserved } from '../../src/contracts';
import { expectEventually } from '../support/eventually';
import { envelopeOf, placedEnvelope, placedPayload, publish, readToEnd, readTopics, testKafka } from '../support/kafka';
import { createProduct, orderReaches, placeOrder } from '../support/shop';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';
import { ExpireReservationsService } from '../../src/modules/order/expire-reservations/expire-reservations.service';
import { KafkaRegistry } from '../../src/platform/kafka/kafka-registry';

describe('saga guarantees on a real broker', () => {
  let stack: TestStack;
  let kafka: Kafka;

  beforeAll(async () => {
    stack = await createTestStack('guarantees');
    kafka = testKafka(stack.brokers);
    // The products of the tests that run the order module alone (its catalogue learns them from product.upserted).
    const setup = await startTestApp(stack);
    try {
      await createProduct(setup, stack, 'HELD', 6);
      await createProduct(setup, stack, 'MANY', 1000);
      await createProduct(setup, stack, 'SLOW', 6);
    } finally {
      await setup.close();
    }
  });

  afterAll(async () => {
    if (!process.env.KEEP_DB) await stack?.drop();
  });

  describe('with the whole app', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await startTestApp(stack);
    });

    afterAll(async () => {
      await app?.close();
    });

    it('does not oversell: 200 concurrent orders for 10 units confirm exactly 10', async () => {
      await createProduct(app, stack, 'SCARCE', 10);
      const placed = await Promise.all(Array.from({ length: 200 }, (_, i) => placeOrder(app, [{ sku: 'SCARCE', quantity: 1 }], `buyer${i}@example.com`)));
      const ids = placed.map((p) => p.id);
      const statuses = await expectEventually(async () => {
        const rows = await query<{ status: string; n: number }>(
          stack.databaseUrl,
          `SELECT status, count(*)::int AS n FROM orders.orders WHERE id = ANY($1::uuid[]) GROUP BY status`,
          [ids],
        );
        const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
        expect(by.PENDING ?? 0).toBe(0);
        return by;
      }, 60_000, 250);
      expect(statuses).toEqual({ CONFIRMED: 10, REJECTED: 190 });
      const product = await app.http.get('/products/SCARCE').expect(200);
      expect(product.body).toMatchObject({ available: 0, reserved: 10 });
    });

    it('refuses negative stock in the database itself, whatever the code does', async () => {
      await expect(query(stack.databaseUrl, `UPDATE warehouse.products SET available = -1 WHERE sku = 'SCARCE'`)).rejects.toThrow(/check constraint/);
    });

    it('applies an event published twice straight to Kafka only once (inbox)', async () => {
      await createProduct(app, stack, 'DUP', 10);
      const envelope = placedEnvelope({ sku: 'DUP', quantity: 3 });
      const topic = `${stack.prefix}order.placed`;
      const [written] = await publish(kafka, topic, [
        { key: envelope.key, value: envelope },
        { key: envelope.key, value: envelope },
      ]);
      // Both copies consumed: the warehouse group has committed past the second.
      const admin = kafka.admin();
      await admin.connect();
      try {
        await expectEventually(async () => {
          const [offsets] = await admin.fetchOffsets({ groupId: `${stack.prefix}warehouse`, topics: [topic] });
          const committed = offsets.partitions.find((p) => p.partition === written.partition)!;
          expect(BigInt(committed.offset)).toBeGreaterThanOrEqual(BigInt(written.baseOffset!) + 2n);
        });
      } finally {
        await admin.disconnect();
      }
      // And everything the warehouse wrote is out: one stock.reserved for the order, not two.
      await expectEventually(async () => {
        expect(await query(stack.databaseUrl, 'SELECT 1 FROM warehouse.outbox')).toHaveLength(0);
      });
      const reserved = await readToEnd(kafka, [`${stack.prefix}stock.reserved`]);
      expect(reserved.filter((m) => m.message.key?.toString() === envelope.key)).toHaveLength(1);
      const product = await app.http.get('/products/DUP').expect(200);
      expect(product.body).toMatchObject({ available: 7, reserved: 3 });
    });

    it('parks a poison message in each consuming group’s DLQ and keeps its partition moving', async () => {
      await createProduct(app, stack, 'AFTER', 5);
      const orderId = randomUUID();
      const wrongVersion = placedEnvelope({ orderId, sku: 'AFTER' }, { version: 99 });
      // Same key as the good order that follows, so both land on the same partition.
      await publish(kafka, `${stack.prefix}order.placed`, [
        { key: orderId, value: '{not json' },
        { key: orderId, value: wrongVersion },
      ]);
      const good = placedEnvelope({ orderId, sku: 'AFTER' });
      await publish(kafka, `${stack.prefix}order.placed`, [{ key: orderId, value: good }]);
      await expectEventually(async () => {
        const rows = await query(stack.databaseUrl, `SELECT status FROM warehouse.reservations WHERE order_id = $1`, [orderId]);
        expect(rows).toEqual([{ status: 'RESERVED' }]);
      });
      for (const group of ['warehouse', 'email', 'analytics']) {
        const parked = await readTopics(kafka, [`${stack.prefix}${group}.dlq`], (ms) => ms.filter((m) => m.message.key?.toString() === orderId).length >= 2);
        const ours = parked.filter((m) => m.message.key?.toString() === orderId);
        const codes = ours.map((m) => m.message.headers!['dlq-error-code']!.toString()).sort();
        expect(codes).toEqual(['EVENT.UNDECODABLE', 'EVENT.UNKNOWN_VERSION']);
        const first = ours[0].message.headers!;
        expect(first['dlq-source-topic']!.toString()).toBe(`${stack.prefix}order.placed`);
        expect(first['dlq-group']!.toString()).toBe(`${stack.prefix}${group}`);
        expect(Number(first['dlq-attempts']!.toString())).toBe(1);
      }
    });
  });

  it('publishes an order committed while Kafka was unreachable once the app comes back (outbox)', async () => {
    const first = await startTestApp(stack);
    await createProduct(first, stack, 'OUTBOX', 5);
    await first.close();

    // The same app with no reachable broker still takes the order: it waits in the outbox.
    const { createApp, startApp } = await import('../../src/bootstrap');
    const { testEnvironment } = await import('../support/test-app');
    const env = testEnvironment(stack, { KAFKA_BROKERS: '127.0.0.1:1' });
    const offline = await createApp(env);
    const url = await startApp(offline, env);
    const request = (await import('supertest')).default;
    const res = await request(url)
      .post('/orders')
      .send({ customerEmail: 'later@example.com', items: [{ sku: 'OUTBOX', quantity: 2 }] })
      .expect(201);
    const waiting = await query(stack.databaseUrl, `SELECT type FROM (SELECT envelope->>'type' AS type, envelope->'payload'->>'orderId' AS id FROM orders.outbox) o WHERE id = $1`, [res.body.id]);
    expect(waiting).toEqual([{ type: 'order.placed' }]);
    await offline.close();

    const again = await startTestApp(stack);
    try {
      await orderReaches(again, res.body.id, 'CONFIRMED');
    } finally {
      await again.close();
    }
  });

  it('reserves nothing for an order cancelled before the warehouse saw it', async () => {
    const warehouse = await startTestApp(stack, { MODULES: 'warehouse' });
    try {
      await warehouse.http.post('/products').set(warehouse.admin).send({ sku: 'LATE', name: 'Late', priceCents: 100, stock: 4 }).expect(201);
      const orderId = randomUUID();
      const placed = placedPayload({ orderId, sku: 'LATE', quantity: 2 });
      const cancelled = envelopeOf(OrderCancelled, { ...placed, previousStatus: 'PENDING' as const, cancelledAt: new Date().toISOString() });
      await publish(kafka, `${stack.prefix}order.cancelled`, [{ key: orderId, value: cancelled }]);
      await expectEventually(async () => {
        const rows = await query(stack.databaseUrl, `SELECT status FROM warehouse.reservations WHERE order_id = $1`, [orderId]);
        expect(rows).toEqual([{ status: 'CLOSED' }]);
      });
      await publish(kafka, `${stack.prefix}order.placed`, [{ key: orderId, value: envelopeOf(OrderPlaced, placed) }]);
      const rejected = await readTopics(kafka, [`${stack.prefix}stock.rejected`], (ms) => ms.some((m) => m.message.key?.toString() === orderId));
      const payload = JSON.parse(rejected.find((m) => m.message.key?.toString() === orderId)!.message.value!.toString()).payload;
      expect(payload).toMatchObject({ reason: 'ORDER_CLOSED' });
      const product = await warehouse.http.get('/products/LATE').expect(200);
      expect(product.body).toMatchObject({ available: 4, reserved: 0 });
    } finally {
      await warehouse.close();
    }
  });

  it('runs the reservation timeout from when order.placed is published: an order waiting in the outbox (the broker away) is not rejected meanwhile', async () => {
    const settings = { MODULES: 'order', ORDER_RESERVATION_TIMEOUT_MS: '1000', ORDER_EXPIRY_SWEEP_MS: '100' };

    // The relay stopped: for this outbox the broker is away, and order.placed waits in it.
    const first = await startTestApp(stack, settings);
    await first.app.get(KafkaRegistry).relays.get('order')!.stop();
    const sweeps: number[] = [];
    const sweep = first.app.get(ExpireReservationsService);
    const expireDue = sweep.expireDue.bind(sweep);
    jest.spyOn(sweep, 'expireDue').mockImplementation(async () => {
      const n = await expireDue();
      sweeps.push(Date.now());
      return n;
    });
    const placed = await placeOrder(first, [{ sku: 'HELD', quantity: 1 }]);
    const overdueAt = Date.now() + 1000;
    // Five sweeps after it would have been overdue, counted from its creation.
    await expectEventually(() => expect(sweeps.filter((at) => at > overdueAt).length).toBeGreaterThanOrEqual(5));
    expect((await first.http.get(`/orders/${placed.id}`).expect(200)).body.status).toBe('PENDING');
    await first.close();

    // The broker back: published on start, and rejected a timeout later (no warehouse runs to reserve it).
    const published = Date.now();
    const second = await startTestApp(stack, settings);
    try {
      await orderReaches(second, placed.id, 'REJECTED');
      const [{ at }] = await query<{ at: Date }>(stack.databaseUrl, `SELECT at FROM orders.order_status_history WHERE order_id = $1 AND status = 'REJECTED'`, [placed.id]);
      expect(at.getTime()).toBeGreaterThanOrEqual(published + 1000);
    } finally {
      await second.close();
    }
  });

  it('does not count an order as published because a sweep ran while its transaction was still open (its order.placed row unseen)', async () => {
    // The timer never fires in this test: the sweep runs when the test calls it. The relay stopped: order.placed stays in the outbox.
    const app = await startTestApp(stack, { MODULES: 'order', ORDER_RESERVATION_TIMEOUT_MS: '500', ORDER_EXPIRY_SWEEP_MS: '3600000' });
    const sweep = app.app.get(ExpireReservationsService);
    const id = randomUUID();
    const tx = new Client({ connectionString: stack.databaseUrl });
    await tx.connect();
    try {
      await app.app.get(KafkaRegistry).relays.get('order')!.stop();
      await tx.query('BEGIN');
      await tx.query(
        `INSERT INTO orders.orders (id, customer_email, status, total_cents, correlation_id, created_at, updated_at)
         VALUES ($1, 'open@example.com', 'PENDING', 100, 'open', now(), now())`,
        [id],
      );
      await tx.query(`INSERT INTO orders.order_lines (order_id, sku, quantity, unit_price_cents) VALUES ($1, 'OPEN', 1, 100)`, [id]);
      await tx.query(`INSERT INTO orders.outbox (event_id, topic, key, envelope) VALUES (gen_random_uuid(), 'order.placed', $1, '{}')`, [id]);
      // A note taken now sees neither the order nor its order.placed: "all published up to now".
      await sweep.expireDue();
      const first = Date.now();
      const reached = (at: number) => expectEventually(() => expect(Date.now()).toBeGreaterThanOrEqual(at));
      // The order commits 400 ms later; the next note sees its order.placed waiting.
      await reached(first + 400);
      await tx.query('COMMIT');
      await sweep.expireDue();
      // A sweep once the first note is a timeout (500 ms) old and the second is not: only the first would allow it.
      await reached(first + 650);
      await sweep.expireDue();
      expect((await app.http.get(`/orders/${id}`).expect(200)).body.status).toBe('PENDING');
    } finally {
      await tx.query('ROLLBACK').catch(() => undefined);
      await tx.end();
      await query(stack.databaseUrl, `DELETE FROM orders.outbox WHERE key = $1`, [id]);
      await app.close();
    }
  });

  it('rejects every overdue order in one sweep, a hundred per transaction (a backlog after an outage), not a hundred per sweep', async () => {
    // The timer never fires in this test: the sweep runs when the test calls it.
    const app = await startTestApp(stack, { MODULES: 'order', ORDER_RESERVATION_TIMEOUT_MS: '500', ORDER_EXPIRY_SWEEP_MS: '3600000' });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const placed = await Promise.all(Array.from({ length: 25 }, () => placeOrder(app, [{ sku: 'MANY', quantity: 1 }])));
        ids.push(...placed.map((o) => o.id));
      }
      await expectEventually(async () => expect(await query(stack.databaseUrl, 'SELECT 1 FROM orders.outbox')).toEqual([]));
      const sweep = app.app.get(ExpireReservationsService);
      // All of them past the timeout and its grace (5 s) by the database's clock, so one sweep finds them all.
      await expectEventually(async () => {
        const overdue = new Set((await sweep.stuck(5_500)).map((o) => o.id));
        expect(ids.filter((id) => !overdue.has(id))).toEqual([]);
      }, 30_000, 200);
      // The first sweeps note that they are published; one a timeout later rejects them.
      const rejected = await expectEventually(async () => {
        const n = await sweep.expireDue();
        expect(n).toBeGreaterThan(0);
        return n;
      });
      expect(rejected).toBeGreaterThanOrEqual(250); // all of them in one sweep, in batches of a hundred (and any left by the tests before)
      const statuses = await query<{ status: string; n: number }>(
        stack.databaseUrl,
        'SELECT status, count(*)::int AS n FROM orders.orders WHERE id = ANY($1) GROUP BY status',
        [ids],
      );
      expect(statuses).toEqual([{ status: 'REJECTED', n: 250 }]);
    } finally {
      await app.close();
    }
  });

  it.each([
    ['on its topic', 'stock.reserved'],
    ['on the module’s retry topic (its first attempt failed)', 'order.retry.1'],
  ])('does not reject an order whose stock decision waits in Kafka %s, unread while the order module’s consumer is away past the timeout', async (_, topic) => {
    // The timer never fires: the test runs the sweep. Timeout 500 ms; the grace is 5 s.
    const orders = await startTestApp(stack, { MODULES: 'order', ORDER_RESERVATION_TIMEOUT_MS: '500', ORDER_EXPIRY_SWEEP_MS: '3600000' });
    let second: TestApp | undefined;
    try {
      const placed = await placeOrder(orders, [{ sku: 'MANY', quantity: 1 }]);
      await expectEventually(async () => expect(await query(stack.databaseUrl, 'SELECT 1 FROM orders.outbox WHERE key = $1', [placed.id])).toEqual([]));
      const sweep = orders.app.get(ExpireReservationsService);
      await sweep.expireDue(); // the note that it is published
      // The order module's consumer goes away (a crash loop, a long deploy); the warehouse answers meanwhile.
      await orders.app.get(KafkaRegistry).servers.get('order')!.close();
      const reserved = envelopeOf(StockReserved, { orderId: placed.id, items: [{ sku: 'MANY', quantity: 1 }], reservedAt: new Date().toISOString() });
      // On the retry topic as the transport writes it there: the topic it came from, due now.
      const retry = { 'retry-source-topic': `${stack.prefix}stock.reserved`, 'retry-level': '1', 'retry-attempts': '0', 'retry-due-at': String(Date.now()) };
      await publish(kafka, `${stack.prefix}${topic}`, [{ key: placed.id, value: reserved, headers: topic.includes('retry') ? retry : undefined }]);
      // Until the order is past its timeout and the grace by the database's clock; then a sweep.
      await expectEventually(async () => expect((await sweep.stuck(5_500)).map((o) => o.id)).toContain(placed.id), 20_000, 200);
      expect(await sweep.expireDue()).toBe(0);
      expect((await orders.http.get(`/orders/${placed.id}`).expect(200)).body.status).toBe('PENDING');

      // Its consumer back (here: another instance of the module), the answer is read and the order confirmed.
      second = await startTestApp(stack, { MODULES: 'order', ORDER_RESERVATION_TIMEOUT_MS: '500', ORDER_EXPIRY_SWEEP_MS: '3600000' });
      await orderReaches(second, placed.id, 'CONFIRMED');
    } finally {
      await second?.close();
      await orders.close();
    }
  });

  it('rejects an order not reserved in time and gives back the stock reserved afterwards', async () => {

    // Only the order module runs: nobody reserves, so the timeout rejects the order.
    const orders = await startTestApp(stack, { MODULES: 'order', ORDER_RESERVATION_TIMEOUT_MS: '500', ORDER_EXPIRY_SWEEP_MS: '100' });
    const placed = await placeOrder(orders, [{ sku: 'SLOW', quantity: 2 }]);
    const order = await orderReaches(orders, placed.id, 'REJECTED');
    expect(order.rejectionReason).toBe('RESERVATION_TIMEOUT');
    const stuck = await orders.http.get('/admin/orders/stuck').set(orders.admin).expect(200);
    expect(stuck.body.orders.map((o: { id: string }) => o.id)).not.toContain(placed.id);
    await orders.close();

    // The warehouse catches up: reserves from order.placed, then releases on order.rejected.
    const warehouse = await startTestApp(stack, { MODULES: 'warehouse' });
    try {
      await expectEventually(async () => {
        const rows = await query(stack.databaseUrl, `SELECT status FROM warehouse.reservations WHERE order_id = $1`, [placed.id]);
        // RELEASED when order.placed came first, REJECTED (after a CLOSED mark) when order.rejected did.
        expect(['RELEASED', 'REJECTED']).toContain(rows[0]?.status);
        const product = await warehouse.http.get('/products/SLOW').expect(200);
        expect(product.body).toMatchObject({ available: 6, reserved: 0 });
      });
    } finally {
      await warehouse.close();
    }
  });
});
