import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { expectEventually } from '../support/eventually';
import { ReadMessage, readTopics, testKafka } from '../support/kafka';
import { createProduct, orderReaches, placeOrder } from '../support/shop';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';
import { ExpireReservationsService } from '../../src/modules/order/expire-reservations/expire-reservations.service';
import { KafkaRegistry } from '../../src/platform/kafka/kafka-registry';

describe('order saga over Kafka', () => {
  let stack: TestStack;
  let app: TestApp;
  let kafka: Kafka;

  beforeAll(async () => {
    stack = await createTestStack('saga');
    app = await startTestApp(stack, { IDEMPOTENCY_KEY_TTL_MS: '1500', ORDER_EXPIRY_SWEEP_MS: '1000' });
    kafka = testKafka(stack.brokers);
    await createProduct(app, stack, 'PEN', 100, 250);
    await createProduct(app, stack, 'INK', 3, 900);
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  it('confirms an order the warehouse can reserve, with an audit trail of one correlation id', async () => {
    const placed = await placeOrder(app, [
      { sku: 'PEN', quantity: 4 },
      { sku: 'INK', quantity: 1 },
    ]);
    expect(placed).toMatchObject({ status: 'PENDING', totalCents: 4 * 250 + 900 });
    const order = await orderReaches(app, placed.id, 'CONFIRMED');
    expect(order.history.map((h: { status: string }) => h.status)).toEqual(['PENDING', 'CONFIRMED']);
    expect(order.history[0].eventId).toBeNull();
    expect(order.history[1].eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(order.history.map((h: { correlationId: string }) => h.correlationId))).toEqual(new Set([order.correlationId]));
    const pen = await app.http.get('/products/PEN').expect(200);
    expect(pen.body).toMatchObject({ sku: 'PEN', name: 'Product PEN', priceCents: 250 });
  });

  it('rejects an order the warehouse cannot fill, naming the short SKU, and holds nothing', async () => {
    const before = (await app.http.get('/products/INK')).body;
    const placed = await placeOrder(app, [
      { sku: 'PEN', quantity: 1 },
      { sku: 'INK', quantity: 50 },
    ]);
    const order = await orderReaches(app, placed.id, 'REJECTED');
    expect(order.rejectionReason).toBe('OUT_OF_STOCK');
    const after = (await app.http.get('/products/INK')).body;
    expect(after).toMatchObject({ available: before.available, reserved: before.reserved });
    const rejected = await readTopics(kafka, [`${stack.prefix}order.rejected`], (ms) =>
      ms.some((m) => JSON.parse(m.message.value!.toString()).payload.orderId === placed.id),
    );
    const payload = JSON.parse(rejected.find((m) => JSON.parse(m.message.value!.toString()).payload.orderId === placed.id)!.message.value!.toString()).payload;
    expect(payload).toMatchObject({ reason: 'OUT_OF_STOCK', skus: ['INK'] });
  });

  it('answers 422 naming the SKU for an order of an unknown product, and stores nothing', async () => {
    const res = await app.http
      .post('/orders')
      .send({ customerEmail: 'ada@example.com', items: [{ sku: 'PEN', quantity: 1 }, { sku: 'NOPE', quantity: 1 }] })
      .expect(422);
    expect(res.body).toMatchObject({ code: 'ORDER.UNKNOWN_SKU', skus: ['NOPE'] });
    const rows = await query(stack.databaseUrl, `SELECT 1 FROM orders.order_lines WHERE sku = 'NOPE'`);
    expect(rows).toHaveLength(0);
  });

  it('names every violation of the order rules in one 400', async () => {
    const items = Array.from({ length: 101 }, (_, i) => ({ sku: `S${i}`, quantity: 1 }));
    const tooMany = await app.http.post('/orders').send({ customerEmail: 'a@b.co', items }).expect(400);
    expect(tooMany.body.message.join(' ')).toContain('items must contain no more than 100 elements');
    const bad = await app.http
      .post('/orders')
      .send({ customerEmail: 'a@b.co', items: [{ sku: 'PEN', quantity: 1.5 }, { sku: 'PEN', quantity: '2' }, { sku: 'INK', quantity: 1001 }] })
      .expect(400);
    const text = bad.body.message.join(' | ');
    expect(text).toContain('items.0.quantity must be an integer number');
    expect(text).toContain('items.1.quantity must be an integer number');
    expect(text).toContain('items.2.quantity must not be greater than 1000');
    expect(text).toContain('items must not repeat a sku');
    await app.http.post('/orders').send({ customerEmail: 'a@b.co', items: [] }).expect(400);
  });

  it('cancels a confirmed order and releases its stock; a second cancel (a retry whose answer was lost) answers 200 and changes nothing', async () => {
    const before = (await app.http.get('/products/PEN')).body;
    const placed = await placeOrder(app, [{ sku: 'PEN', quantity: 5 }]);
    await orderReaches(app, placed.id, 'CONFIRMED');
    const cancelled = await app.http.post(`/orders/${placed.id}/cancel`).expect(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    await expectEventually(async () => {
      const pen = (await app.http.get('/products/PEN')).body;
      expect(pen).toMatchObject({ available: before.available, reserved: before.reserved });
    });
    const again = await app.http.post(`/orders/${placed.id}/cancel`).expect(200);
    expect(again.body.status).toBe('CANCELLED');
    expect(again.body.history.map((h: { status: string }) => h.status)).toEqual(['PENDING', 'CONFIRMED', 'CANCELLED']);
    const events = await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM orders.order_status_history WHERE order_id = $1 AND status = 'CANCELLED'`, [placed.id]);
    expect(events).toEqual([{ n: 1 }]);
    // A rejected order still cannot be cancelled.
    const refused = await app.http.post('/orders').send({ customerEmail: 'ada@example.com', items: [{ sku: 'PEN', quantity: 1000 }] }).expect(201);
    await orderReaches(app, refused.body.id, 'REJECTED');
    const illegal = await app.http.post(`/orders/${refused.body.id}/cancel`).expect(409);
    expect(illegal.body).toMatchObject({ code: 'ORDER.ILLEGAL_TRANSITION', status: 'REJECTED' });
    await app.http.post('/orders/00000000-0000-4000-8000-000000000000/cancel').expect(404);
    await app.http.post('/orders/not-a-uuid/cancel').expect(400);
  });

  it('answers an order whose status and history agree, even when a transition commits while it is read', async () => {
    const placed = await placeOrder(app, [{ sku: 'PEN', quantity: 1 }]);
    await orderReaches(app, placed.id, 'CONFIRMED');
    // A transition written by hand holds the history table until the read is under way, then commits.
    const tx = new Client({ connectionString: stack.databaseUrl });
    await tx.connect();
    try {
      await tx.query('BEGIN');
      await tx.query('LOCK TABLE orders.order_status_history IN ACCESS EXCLUSIVE MODE');
      await tx.query(`UPDATE orders.orders SET status = 'CANCELLED', updated_at = now() WHERE id = $1`, [placed.id]);
      await tx.query(`INSERT INTO orders.order_status_history (order_id, status, at, correlation_id) VALUES ($1, 'CANCELLED', now(), 'by-hand')`, [placed.id]);
      const reading = app.http.get(`/orders/${placed.id}`).then((res) => res);
      await expectEventually(async () => {
        const waiting = await query(stack.databaseUrl, `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%order_status_history%' AND pid <> $1`, [
          (tx as unknown as { processID: number }).processID,
        ]);
        expect(waiting.length).toBeGreaterThan(0);
      });
      await tx.query('COMMIT');
      const { body } = await reading;
      expect([body.status, body.history.at(-1).status]).toEqual(['CANCELLED', 'CANCELLED']);
    } finally {
      await tx.end();
    }
  });

  it('puts every event of one order on the same partition number, handled in order, however the cancel spells its id', async () => {
    const placed = await placeOrder(app, [{ sku: 'PEN', quantity: 1 }]);
    await orderReaches(app, placed.id, 'CONFIRMED');
    // A uuid in capitals is the same order: its events must still carry the key (and partition) of the others.
    await app.http.post(`/orders/${placed.id.toUpperCase()}/cancel`).expect(200);
    const topics = ['order.placed', 'stock.reserved', 'order.confirmed', 'order.cancelled', 'stock.released'].map((t) => `${stack.prefix}${t}`);
    const ofOrder = (ms: ReadMessage[]) => ms.filter((m) => m.message.key?.toString() === placed.id);
    const messages = await readTopics(kafka, topics, (ms) => ofOrder(ms).length >= topics.length);
    const partitions = new Set(ofOrder(messages).map((m) => m.partition));
    expect(partitions.size).toBe(1);
    const order = await app.http.get(`/orders/${placed.id}`).expect(200);
    const times = order.body.history.map((h: { at: string }) => Date.parse(h.at));
    expect(order.body.history.map((h: { status: string }) => h.status)).toEqual(['PENDING', 'CONFIRMED', 'CANCELLED']);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  describe('Idempotency-Key', () => {
    const body = { customerEmail: 'retry@example.com', items: [{ sku: 'PEN', quantity: 1 }] };

    it('returns the same order, status and body for a retry with the same key and body', async () => {
      const first = await app.http.post('/orders').set('Idempotency-Key', 'key-same').send(body).expect(201);
      const retry = await app.http.post('/orders').set('Idempotency-Key', 'key-same').send({ items: body.items, customerEmail: body.customerEmail }).expect(201);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      const rows = await query(stack.databaseUrl, `SELECT 1 FROM orders.orders WHERE customer_email = 'retry@example.com'`);
      expect(rows).toHaveLength(1);
    });

    it('answers 422 when a key is reused with a different body, and places nothing', async () => {
      await app.http.post('/orders').set('Idempotency-Key', 'key-diff').send(body).expect(201);
      const res = await app.http
        .post('/orders')
        .set('Idempotency-Key', 'key-diff')
        .send({ ...body, items: [{ sku: 'PEN', quantity: 2 }] })
        .expect(422);
      expect(res.body.code).toBe('ORDER.IDEMPOTENCY_KEY_REUSED');
    });

    it('gives concurrent requests with one key one order', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, () => app.http.post('/orders').set('Idempotency-Key', 'key-race').send({ ...body, customerEmail: 'race@example.com' })),
      );
      expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    });

    it('keeps no key for an order refused for an unknown SKU, also when it shares a group commit with others', async () => {
      const refused = { customerEmail: 'unknown@example.com', items: [{ sku: 'NOPE', quantity: 1 }] };
      const results = await Promise.all([
        app.http.post('/orders').set('Idempotency-Key', 'key-unknown').send(refused),
        ...Array.from({ length: 7 }, (_, i) => app.http.post('/orders').set('Idempotency-Key', `key-beside-${i}`).send(body)),
      ]);
      expect(results.map((r) => r.status)).toEqual([422, ...Array(7).fill(201)]);
      expect(results[0].body).toMatchObject({ code: 'ORDER.UNKNOWN_SKU', skus: ['NOPE'] });
      // The refused request left its key unused: the same key with another body places an order.
      const next = await app.http.post('/orders').set('Idempotency-Key', 'key-unknown').send(body).expect(201);
      expect(next.headers['idempotent-replayed']).toBeUndefined();
    });

    it('forgets a key after its time to live', async () => {
      const first = await app.http.post('/orders').set('Idempotency-Key', 'key-ttl').send(body).expect(201);
      const later = await expectEventually(async () => {
        const res = await app.http.post('/orders').set('Idempotency-Key', 'key-ttl').send(body).expect(201);
        expect(res.body.id).not.toBe(first.body.id);
        return res;
      }, 10_000, 300);
      expect(later.headers['idempotent-replayed']).toBeUndefined();
    });

    it('deletes keys past their time to live (the sweep) and keeps live ones', async () => {
      await app.http.post('/orders').set('Idempotency-Key', 'key-swept').send(body).expect(201);
      await query(
        stack.databaseUrl,
        `INSERT INTO orders.idempotency_keys (key, request_hash, status_code, response, expires_at)
         VALUES ('key-live', 'h', 201, 'null', now() + interval '1 hour')`,
      );
      const keys = async () => (await query<{ key: string }>(stack.databaseUrl, `SELECT key FROM orders.idempotency_keys WHERE key IN ('key-swept', 'key-live') ORDER BY key`)).map((r) => r.key);
      expect(await keys()).toEqual(['key-live', 'key-swept']);
      // The sweep that removed the expired key saw the live one too.
      await expectEventually(async () => expect(await keys()).toEqual(['key-live']), 15_000, 300);
    });

    it('rejects a malformed key with 400', async () => {
      await app.http.post('/orders').set('Idempotency-Key', 'x'.repeat(201)).send(body).expect(400);
    });
  });

  it('stops the expiry sweep before the order outbox drains on shutdown, so no rejection waits in it for the next start', async () => {
    const stopping = await startTestApp(stack, { MODULES: 'order', ORDER_EXPIRY_SWEEP_MS: '50' });
    const relay = stopping.app.get(KafkaRegistry).relays.get('order')!;
    const sweep = jest.spyOn(stopping.app.get(ExpireReservationsService), 'expireDue');
    let sweepsWhileDraining: number | undefined;
    const stop = relay.stop.bind(relay);
    jest.spyOn(relay, 'stop').mockImplementation(async () => {
      const sweepsBefore = sweep.mock.calls.length;
      // Four sweep periods while the relay drains: a sweep still scheduled would run in them.
      await new Promise((resolve) => setTimeout(resolve, 200));
      sweepsWhileDraining = sweep.mock.calls.length - sweepsBefore;
      return stop();
    });
    await expectEventually(() => expect(sweep).toHaveBeenCalled()); // the sweep was running
    await stopping.close();
    expect(sweepsWhileDraining).toBe(0);
  });

  it('lists orders only for the admin token: the list holds every customer address', async () => {
    await app.http.get('/orders').expect(401);
    await app.http.get('/orders').set('Authorization', 'Bearer wrong-token-of-enough-length').expect(403);
  });

  it('lists orders newest first with a keyset cursor that visits each order once', async () => {
    const ids = new Set<string>();
    const listed: { id: string; createdAt: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { items: { id: string; createdAt: string }[]; nextCursor: string | null } } = await app.http
        .get('/orders')
        .set(app.admin)
        .query({ limit: 3, ...(cursor ? { cursor } : {}) })
        .expect(200);
      for (const o of res.body.items) {
        expect(ids.has(o.id)).toBe(false);
        ids.add(o.id);
        listed.push(o);
      }
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    const [{ n }] = await query<{ n: number }>(stack.databaseUrl, 'SELECT count(*)::int AS n FROM orders.orders');
    expect(ids.size).toBe(n);
    // Newest first across the pages, ties (one millisecond in the answer) broken by id, descending.
    const newestFirst = [...listed].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    expect(listed.map((o) => o.createdAt)).toEqual(newestFirst.map((o) => o.createdAt));
    const confirmed = await app.http.get('/orders').set(app.admin).query({ status: 'CONFIRMED', limit: 200 }).expect(200);
    expect(confirmed.body.items.every((o: { status: string }) => o.status === 'CONFIRMED')).toBe(true);
    await app.http.get('/orders').set(app.admin).query({ cursor: 'garbage' }).expect(400);
    // Cursors that look right to a loose check but that Postgres refuses (they answered 500).
    const crafted = (createdAt: string, id: string) => Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
    for (const [createdAt, id] of [
      ['2024-01-01T00:00:00Z', '0'.repeat(36)],
      ['1', '01a24fab-cd8f-74c6-a75b-6d6897b0cb63'],
      ['2026-02-30 00:00:00+00', '01a24fab-cd8f-74c6-a75b-6d6897b0cb63'],
      ['2026-01-01 00:00:00+00:60', '01a24fab-cd8f-74c6-a75b-6d6897b0cb63'],
    ]) {
      const res = await app.http.get('/orders').set(app.admin).query({ cursor: crafted(createdAt, id) });
      expect([res.status, createdAt]).toEqual([400, createdAt]);
    }
    await app.http.get('/orders').set(app.admin).query({ status: 'LOST' }).expect(400);
  });
});
