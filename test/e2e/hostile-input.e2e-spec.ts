import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Admin, CompressionTypes, Kafka } from 'kafkajs';
import { placedEnvelope, publish, publishWithNullHeaders, readTopics, ReadMessage, testKafka, topicSize } from '../support/kafka';
import { expectEventually } from '../support/eventually';
import { ADMIN_TOKEN, createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

const SKU = /^[A-Za-z0-9._-]{1,64}$/;
const SQLISH = ["' OR 1=1 --", "x'); DROP TABLE orders.orders; --", '1; SELECT pg_sleep(5)', '"; DELETE FROM warehouse.products; --'];
// Lookalikes and invisible characters a naive check might let through as a SKU.
const UNICODE = ['ＳＫＵ１', 'SKU\u200b1', 'SKU\u0000', 'ŚKU', '🛒', 'SKU\u202e1', '\ud800', 'Ⓢ'];

const digest = (bytes: Buffer | string | null | undefined) => createHash('sha256').update(bytes ?? '').digest('hex');

/** A JSON value nested `depth` levels deep, as text (so the client does not have to build it). */
const deeplyNested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

const notASku = fc.oneof(
  fc.constantFrom(...SQLISH, ...UNICODE, '', 'x'.repeat(65)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }).filter((s) => !SKU.test(s)),
  fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 })),
);
const notAQuantity = fc.oneof(
  fc.integer({ max: 0 }),
  fc.integer({ min: 1001 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  fc.constantFrom('1', '2', 'NaN', '1e3', null, true, [], {}),
);
const notAnEmail = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !s.includes('@')),
  fc.constantFrom(...SQLISH.map((s) => `${s}@`), `${'a'.repeat(250)}@example.com`, 'ada@', '@example.com'),
  fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 })),
);
const unknownKey = fc.oneof(
  fc.constantFrom('constructor', 'prototype', '__proto__', 'toString', 'hasOwnProperty', 'coupon'),
  fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !['sku', 'quantity', 'customerEmail', 'items', 'name', 'priceCents', 'stock'].includes(k)),
);
const validItem = { sku: 'MUG', quantity: 1 };
const validOrder = { customerEmail: 'ada@example.com', items: [validItem] };
const validProduct = { sku: 'MUG', name: 'Mug', priceCents: 1200, stock: 10 };

/** A body a client sends: JSON text (possibly not JSON at all). */
type Body = string;
const json = (value: unknown): Body => JSON.stringify(value);
const notJson = fc.oneof(
  fc.constantFrom('{', '{"customerEmail":', "{'sku':'MUG'}", '{"items":[1,]}', 'undefined', 'NaN', '\u0000', '{"a":1}}'),
  fc.string({ maxLength: 40 }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
);
const notAnObject = fc.oneof(fc.jsonValue({ maxDepth: 3 }).filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)));

const malformedOrder: fc.Arbitrary<Body> = fc.oneof(
  notAQuantity.map((quantity) => json({ ...validOrder, items: [{ sku: 'MUG', quantity }] })),
  notASku.map((sku) => json({ ...validOrder, items: [{ sku, quantity: 1 }] })),
  notAnEmail.map((customerEmail) => json({ ...validOrder, customerEmail })),
  fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => json({ ...validOrder, [k]: v })),
  fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => json({ ...validOrder, items: [{ ...validItem, [k]: v }] })),
  fc.integer({ min: 101, max: 5000 }).map((n) => json({ ...validOrder, items: Array.from({ length: n }, (_, i) => ({ sku: `S${i}`, quantity: 1 })) })),
  fc.constantFrom([], [validItem, validItem], 'MUG', null, {}, [null], [[validItem]]).map((items) => json({ ...validOrder, items })),
  fc.integer({ min: 2, max: 2000 }).map((depth) => `{"customerEmail":"ada@example.com","items":${deeplyNested(depth)}}`),
  fc.integer({ min: 2, max: 2000 }).map((depth) => `{"customerEmail":"ada@example.com","items":[{"sku":"MUG","quantity":${deeplyNested(depth)}}]}`),
  notAnObject.map(json),
  notJson,
);

const malformedProduct: fc.Arbitrary<Body> = fc.oneof(
  notASku.map((sku) => json({ ...validProduct, sku })),
  fc.oneof(fc.constantFrom('', 'x'.repeat(201), null, 12, ['Mug'], 'Mug\u0000', 'Mug\u0007', '\u001b[31mMug', 'Mug\n')).map((name) => json({ ...validProduct, name })),
  notAQuantity.filter((v) => v !== 0).map((priceCents) => json({ ...validProduct, priceCents: typeof priceCents === 'number' && priceCents > 0 ? -priceCents : priceCents })),
  fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 100_000_001 }), fc.double({ min: 0.01, max: 10, noNaN: true }).filter((n) => !Number.isInteger(n)), fc.constantFrom('10', null)).map((stock) => json({ ...validProduct, stock })),
  fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => json({ ...validProduct, [k]: v })),
  fc.integer({ min: 2, max: 2000 }).map((depth) => `{"sku":"MUG","name":"Mug","priceCents":1,"stock":${deeplyNested(depth)}}`),
  notAnObject.map(json),
  notJson,
);

describe('hostile HTTP input and events', () => {
  let stack: TestStack;
  let app: TestApp;
  let kafka: Kafka;
  let admin: Admin;
  const topicsEmitted = () => Promise.all(['order.placed', 'product.upserted'].map((t) => topicSize(admin, `${stack.prefix}${t}`)));

  beforeAll(async () => {
    stack = await createTestStack('hostile');
    app = await startTestApp(stack);
    kafka = testKafka(stack.brokers);
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
    await app?.close();
    await stack?.drop();
  });

  const post = (path: string, body: Body, headers: Record<string, string> = {}) =>
    fetch(`${app.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

  /** Sends one body and checks the answer is a 4xx that says why. */
  async function expectRejected(path: string, body: Body, headers: Record<string, string> = {}): Promise<void> {
    const res = await post(path, body, headers);
    const text = await res.text();
    if (res.status < 400 || res.status >= 500) throw new Error(`${path} answered ${res.status} to ${body.slice(0, 200)}: ${text.slice(0, 300)}`);
    const answer = JSON.parse(text) as { message?: unknown };
    expect(answer.message).toBeTruthy();
  }

  it('answers nesting deeper than 32 levels with 400 before validation (class-transformer overflowed the stack near 2,000)', async () => {
    const res = await post('/orders', `{"customerEmail":"ada@example.com","items":${deeplyNested(5000)}}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe('JSON body nested deeper than 32 levels');
  });

  it('refuses prototype-shaped keys such as constructor, which the DTO whitelist let through and stored', async () => {
    const res = await post('/products', json({ ...validProduct, constructor: {} }), { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe('property constructor is not allowed');
  });

  it('answers JSON that is not JSON with 400 and a message, and a body over 256 KiB with 413', async () => {
    const broken = await post('/orders', '{"customerEmail": "ada@example.com", "items": [');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { message: string }).message).toMatch(/JSON/i);

    const huge = await post('/orders', json({ ...validOrder, note: 'x'.repeat(300 * 1024) }));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { message: string }).message).toMatch(/too large/i);
  });

  it('rejects negative and fractional quantities and SQL-ish SKUs with 400 naming the field', async () => {
    for (const [items, field] of [
      [[{ sku: 'MUG', quantity: -1 }], 'items.0.quantity'],
      [[{ sku: 'MUG', quantity: 1.5 }], 'items.0.quantity must be an integer'],
      [[{ sku: "MUG' OR 1=1 --", quantity: 1 }], 'items.0.sku'],
      [[{ sku: 'MUG', quantity: '2' }], 'items.0.quantity must be an integer'],
    ] as const) {
      const res = await post('/orders', json({ ...validOrder, items }));
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string[] }).message.join(' | ')).toContain(field);
    }
  });

  it('answers a SKU in a path that breaks the rule (a NUL, which Postgres refuses, included) and a NUL in a name or address with 400, not 500', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const sku of ['SKU%00', 'a%00b', encodeURIComponent("MUG' OR 1=1 --"), encodeURIComponent('ＳＫＵ１'), 'x'.repeat(65)]) {
      const read = await fetch(`${app.url}/products/${sku}`);
      expect([sku, read.status]).toEqual([sku, 400]);
      expect(((await read.json()) as { message: string }).message).toBe('sku must be 1-64 letters, digits, dot, dash or underscore');
      const restock = await fetch(`${app.url}/products/${sku}/stock`, {
        method: 'PATCH',
        body: json({ delta: 1 }),
        headers: { 'content-type': 'application/json', ...admin },
      });
      expect([sku, restock.status]).toEqual([sku, 400]);
    }
    const named = await post('/products', json({ ...validProduct, name: 'Mug\u0000' }), admin);
    expect(named.status).toBe(400);
    expect(JSON.stringify(await named.json())).toContain('name must not contain control characters');
    const addressed = await post('/orders', json({ ...validOrder, customerEmail: 'ada\u0000@example.com' }));
    expect(addressed.status).toBe(400);
    // Quoted, validator.js takes them: a CRLF header injection, a BEL, a right-to-left override.
    for (const customerEmail of ['"a\r\nBcc: x@evil.com"@example.com', '"\u0007"@example.com', '"moc.live\u202e"@example.com']) {
      const res = await post('/orders', json({ ...validOrder, customerEmail }));
      expect([customerEmail, res.status]).toEqual([customerEmail, 400]);
      expect(((await res.json()) as { message: string[] }).message).toEqual(['customerEmail must be an email']);
    }
    expect(await query(stack.databaseUrl, `SELECT 1 FROM orders.orders UNION ALL SELECT 1 FROM orders.outbox`)).toEqual([]);
  });

  it('answers half a surrogate pair (JSON spells it "\\ud800") in an address or a name with 400, not 500, and stores nothing', async () => {
    for (const customerEmail of ['a\ud800b@example.com', 'ada@b\udfff.example.com']) {
      const res = await post('/orders', json({ ...validOrder, customerEmail }));
      expect([customerEmail, res.status]).toEqual([customerEmail, 400]);
      expect(((await res.json()) as { message: string[] }).message).toEqual(['customerEmail must be an email']);
    }
    const named = await post('/products', json({ ...validProduct, name: 'Mug \ud83d' }), { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(named.status).toBe(400);
    expect(((await named.json()) as { message: string[] }).message).toEqual(['name must not contain control characters or unpaired surrogates']);
    expect(await query(stack.databaseUrl, `SELECT 1 FROM orders.orders UNION ALL SELECT 1 FROM warehouse.products`)).toEqual([]);
  });

  it('answers 1,100 generated malformed bodies with 4xx, and stores and emits nothing', async () => {
    const emittedBefore = await topicsEmitted();
    await fc.assert(fc.asyncProperty(malformedOrder, (body) => expectRejected('/orders', body)), { numRuns: 700 });
    await fc.assert(
      fc.asyncProperty(malformedProduct, (body) => expectRejected('/products', body, { authorization: `Bearer ${ADMIN_TOKEN}` })),
      { numRuns: 400 },
    );

    const count = async (table: string) => (await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM ${table}`))[0].n;
    expect(await count('orders.orders')).toBe(0);
    expect(await count('orders.idempotency_keys')).toBe(0);
    expect(await count('orders.outbox')).toBe(0);
    expect(await count('warehouse.products')).toBe(0);
    expect(await count('warehouse.outbox')).toBe(0);
    expect(await topicsEmitted()).toEqual(emittedBefore);
  });

  it('parks hostile events in the consumer’s dead-letter topic without touching its tables', async () => {
    const valid = placedEnvelope({ orderId: '7f1d2c1e-2b9c-4b59-9f0b-1f5a3e2d4c6b' });
    const hostile = [
      'not json at all',
      deeplyNested(5000),
      json({ ...valid, eventId: 'a', payload: { ...valid.payload, items: [{ sku: "MUG' OR 1=1 --", quantity: -3, unitPriceCents: 0.5 }] } }),
      // Well formed but for one SKU on two lines: the stock ledger nets one change per SKU.
      json({ ...valid, eventId: '0192f7a0-0000-7000-8000-000000000003', payload: { ...valid.payload, items: [valid.payload.items[0], valid.payload.items[0]] } }),
      // Half a surrogate pair in the address: validator.js's isEmail threw on it (parked as undecodable, not naming the field).
      json({ ...valid, eventId: '0192f7a0-0000-7000-8000-000000000004', payload: { ...valid.payload, customerEmail: 'a\ud800b@example.com' } }),
    ];
    await publish(kafka, `${stack.prefix}order.placed`, hostile.map((value, i) => ({ key: `hostile-${i}`, value })));

    const parked = await readTopics(kafka, [`${stack.prefix}warehouse.dlq`], (m) => m.length >= hostile.length, 30_000);
    expect(parked.map((m) => m.message.key?.toString()).sort()).toEqual(['hostile-0', 'hostile-1', 'hostile-2', 'hostile-3', 'hostile-4']);
    // Each at once, as a permanent fault of the message (a stack overflow on the nested one included), not after retries.
    expect(parked.map((m) => [m.message.headers?.['dlq-permanent']?.toString(), m.message.headers?.['dlq-attempts']?.toString()])).toEqual(
      hostile.map(() => ['true', '1']),
    );
    expect(parked.every((m) => m.message.headers?.['dlq-source-topic']?.toString() === `${stack.prefix}order.placed`)).toBe(true);
    const surrogate = parked.find((m) => m.message.key?.toString() === 'hostile-4')!;
    expect([surrogate.message.headers?.['dlq-error-code']?.toString(), surrogate.message.headers?.['dlq-error']?.toString()]).toEqual([
      'EVENT.INVALID_PAYLOAD',
      'PermanentEventError: invalid order.placed payload: customerEmail',
    ]);
    const reservations = await query<{ n: number }>(stack.databaseUrl, 'SELECT count(*)::int AS n FROM warehouse.reservations');
    expect(reservations[0].n).toBe(0);
  });

  it('parks a record with null-valued headers (Java clients and Kafka Connect write them) and handles the next one, instead of crashing its consumer over and over', async () => {
    const topic = `${stack.prefix}order.placed`;
    // Not JSON, with null headers: parked without them (kafkajs cannot write a null header back).
    await publishWithNullHeaders(stack.brokers, topic, 'null-headers-poison', 'not json', ['trace', 'event-id']);
    // A valid event with null headers, its event id among them: handled (no such product, so rejected).
    const valid = placedEnvelope({ sku: 'NO-SUCH-SKU' });
    await publishWithNullHeaders(stack.brokers, topic, valid.key, JSON.stringify(valid), ['trace', 'event-id', 'correlation-id']);

    const parked = await readTopics(kafka, [`${stack.prefix}warehouse.dlq`], (m) => m.some((x) => x.message.key?.toString() === 'null-headers-poison'), 30_000);
    const letter = parked.find((x) => x.message.key?.toString() === 'null-headers-poison')!;
    expect(letter.message.headers?.['dlq-error-code']?.toString()).toBe('EVENT.UNDECODABLE');
    expect(Object.keys(letter.message.headers ?? {}).filter((k) => !k.startsWith('dlq-'))).toEqual([]);
    const isOurs = (m: ReadMessage) => JSON.parse(m.message.value!.toString()).payload.orderId === valid.payload.orderId;
    const rejected = await readTopics(kafka, [`${stack.prefix}stock.rejected`], (m) => m.some(isOurs), 30_000);
    expect(rejected.filter(isOurs)).toHaveLength(1);
  });

  it('parks an event the broker took compressed with its value, compressed again, and redrives it the same way; its partition moves on', async () => {
    const topic = `${stack.prefix}order.placed`;
    // 2 MiB of text: ~2 KB gzipped, so the broker (1 MiB per message) accepts it; sent on uncompressed, it would not.
    const value = 'x'.repeat(2 << 20);
    await publish(kafka, topic, [{ key: 'huge', partition: 0, value }], { compression: CompressionTypes.GZIP });
    const after = placedEnvelope({ sku: 'NO-SUCH-SKU' });
    await publish(kafka, topic, [{ key: after.key, partition: 0, value: after }]);

    const parked = await readTopics(kafka, [`${stack.prefix}warehouse.dlq`], (m) => m.some((x) => x.message.key?.toString() === 'huge'), 30_000);
    const letter = parked.find((x) => x.message.key?.toString() === 'huge')!;
    // Compared by length and digest: a failure message of 2 MiB would bury the rest.
    expect(letter.message.value?.length ?? 0).toBe(value.length);
    expect(digest(letter.message.value)).toBe(digest(value));
    expect(letter.message.headers?.['dlq-value-dropped']).toBeUndefined();
    expect(letter.message.headers?.['dlq-error-code']?.toString()).toBe('EVENT.UNDECODABLE');
    // The event behind it on the same partition is handled.
    await expectEventually(async () => {
      expect(await query(stack.databaseUrl, 'SELECT 1 FROM warehouse.inbox WHERE event_id = $1', [after.eventId])).toHaveLength(1);
    }, 30_000);

    // A redrive sends the whole value back; still undecodable, it parks again, value and all.
    const id = `${letter.partition}:${letter.message.offset}`;
    const redrive = await app.http.post('/admin/dlq/warehouse/redrive').set(app.admin).send({ ids: [id] }).expect(200);
    expect(redrive.body.redriven).toEqual([id]);
    const again = await readTopics(kafka, [`${stack.prefix}warehouse.dlq`], (m) => m.some((x) => x.message.headers?.['redriven-from'] !== undefined), 30_000);
    const second = again.find((x) => x.message.headers?.['redriven-from'] !== undefined)!;
    expect(second.message.key?.toString()).toBe('huge');
    expect(digest(second.message.value)).toBe(digest(value));
  });

  it('parks an event too large to move even compressed (incompressible, near the limit) as a letter without its value, and its partition moves on', async () => {
    const topic = `${stack.prefix}order.placed`;
    // Random bytes just under the broker's 1 MiB record-batch limit: taken as sent, refused once a letter's headers are added.
    const value = randomBytes(1_048_400);
    await publish(kafka, topic, [{ key: 'near-limit', partition: 1, value }]);
    const after = placedEnvelope({ sku: 'NO-SUCH-SKU' });
    await publish(kafka, topic, [{ key: after.key, partition: 1, value: after }]);

    const parked = await readTopics(kafka, [`${stack.prefix}warehouse.dlq`], (m) => m.some((x) => x.message.key?.toString() === 'near-limit'), 30_000);
    const letter = parked.find((x) => x.message.key?.toString() === 'near-limit')!;
    expect(letter.message.value?.length ?? 0).toBe(0);
    expect(letter.message.headers?.['dlq-value-dropped']?.toString()).toBe(String(value.length));
    expect(letter.message.headers?.['dlq-error-code']?.toString()).toBe('EVENT.UNDECODABLE');
    await expectEventually(async () => {
      expect(await query(stack.databaseUrl, 'SELECT 1 FROM warehouse.inbox WHERE event_id = $1', [after.eventId])).toHaveLength(1);
    }, 30_000);
  });
});
