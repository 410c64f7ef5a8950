import { Kafka } from 'kafkajs';
import { DeadLetters, pendingLetters, RedriveInProgressError } from '../../src/platform/kafka/dead-letters';
import { KafkaNaming } from '../../src/platform/kafka/kafka-naming';
import { OutgoingMessage } from '../../src/platform/kafka/kafka-producer';
import { expectEventually } from '../support/eventually';
import { createTopic, placedEnvelope, publish, readTopics, ReadMessage, testKafka, topicSize } from '../support/kafka';
import { createProduct, orderReaches, placeOrder } from '../support/shop';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';
import { PgProxy, startPgProxy } from '../support/pg-proxy';

/**
 * Makes the warehouse's reservation of one SKU fail `times` times (a real Postgres error raised by
 * a trigger, with SQLSTATE `code`; a sequence counts the attempts because it survives the rollback), then pass.
 */
async function failReservations(databaseUrl: string, sku: string, times: number, code = 'P0001'): Promise<void> {
  await query(databaseUrl, `CREATE SEQUENCE IF NOT EXISTS warehouse.fault_${sku}`);
  await query(
    databaseUrl,
    `CREATE OR REPLACE FUNCTION warehouse.fault_${sku}() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.items::text LIKE '%"${sku}"%' AND nextval('warehouse.fault_${sku}') <= ${times} THEN
         RAISE EXCEPTION 'injected failure for ${sku}' USING ERRCODE = '${code}';
       END IF;
       RETURN NEW;
     END $$`,
  );
  await query(databaseUrl, `CREATE TRIGGER fault_${sku} BEFORE INSERT ON warehouse.reservations FOR EACH ROW EXECUTE FUNCTION warehouse.fault_${sku}()`);
}

describe('failure handling: retries, retry topics, dead letters and redrive', () => {
  let stack: TestStack;
  let app: TestApp;
  let kafka: Kafka;
  const ofKey = (key: string) => (ms: { message: { key: Buffer | null } }[]) => ms.filter((m) => m.message.key?.toString() === key);

  beforeAll(async () => {
    stack = await createTestStack('failures');
    // Two attempts per hop (one quick in-place retry), two retry topics (300 ms, 600 ms), then the DLQ.
    app = await startTestApp(stack, { KAFKA_HANDLER_RETRIES: '1', KAFKA_RETRY_BACKOFF_MS: '20', KAFKA_RETRY_DELAYS_MS: '300,600' });
    kafka = testKafka(stack.brokers);
    await createProduct(app, stack, 'FLAKY', 10);
    await createProduct(app, stack, 'BROKEN', 10);
    await createProduct(app, stack, 'FINE', 10);
    await createProduct(app, stack, 'SEVERED', 10);
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  it('processes an event once after it failed five times, through both retry topics, without holding up later events', async () => {
    // Each hop gets two attempts (one in-place retry): order.placed 2, retry.1 2, retry.2 1 failure + success.
    await failReservations(stack.databaseUrl, 'FLAKY', 5);
    const flaky = await placeOrder(app, [{ sku: 'FLAKY', quantity: 2 }]);
    const fine = await placeOrder(app, [{ sku: 'FINE', quantity: 1 }]);
    await orderReaches(app, fine.id, 'CONFIRMED');
    await orderReaches(app, flaky.id, 'CONFIRMED');
    const [{ n }] = await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM warehouse.reservations WHERE order_id = $1`, [flaky.id]);
    expect(n).toBe(1);
    expect((await app.http.get('/products/FLAKY')).body).toMatchObject({ available: 8, reserved: 2 });
    const hops = await readTopics(kafka, [`${stack.prefix}warehouse.retry.1`, `${stack.prefix}warehouse.retry.2`], (ms) => ofKey(flaky.id)(ms).length >= 2);
    const ours = ofKey(flaky.id)(hops) as typeof hops;
    expect(ours.map((m) => m.topic).sort()).toEqual([`${stack.prefix}warehouse.retry.1`, `${stack.prefix}warehouse.retry.2`]);
    const second = ours.find((m) => m.topic.endsWith('retry.2'))!.message.headers!;
    expect(second['retry-source-topic']!.toString()).toBe(`${stack.prefix}order.placed`);
    expect(second['retry-attempts']!.toString()).toBe('4');
    expect(second['retry-error']!.toString()).toContain('injected failure for FLAKY');
  });

  it('waits no longer than the level delay for a retry whose due time lies an hour ahead (a clock running fast, a bogus header)', async () => {
    const early = placedEnvelope({ sku: 'FINE', unitPriceCents: 1000 });
    await publish(kafka, `${stack.prefix}warehouse.retry.1`, [
      {
        key: early.key,
        value: early,
        headers: {
          'retry-level': '1',
          'retry-due-at': String(Date.now() + 3_600_000),
          'retry-attempts': '2',
          'retry-source-topic': `${stack.prefix}order.placed`,
          'retry-source-partition': '0',
          'retry-source-offset': '0',
        },
      },
    ]);
    await expectEventually(async () => {
      expect(await query(stack.databaseUrl, 'SELECT 1 FROM warehouse.inbox WHERE event_id = $1', [early.eventId])).toHaveLength(1);
    }, 15_000);
  });

  it('parks an event that keeps failing in the DLQ with its history, then redrives it once the cause is fixed', async () => {
    await failReservations(stack.databaseUrl, 'BROKEN', 1_000_000);
    const broken = await placeOrder(app, [{ sku: 'BROKEN', quantity: 3 }]);
    const parked = await expectEventually(async () => {
      const res = await app.http.get('/admin/dlq/warehouse').set(app.admin).expect(200);
      const item = res.body.items.find((i: { key: string }) => i.key === broken.id);
      expect(item).toBeDefined();
      return item;
    }, 30_000, 500);
    expect(parked).toMatchObject({
      type: 'order.placed',
      attempts: 6,
      permanent: false,
      redriven: false,
      source: { topic: `${stack.prefix}order.placed` },
    });
    expect(parked.error).toContain('injected failure for BROKEN');
    expect((await app.http.get(`/orders/${broken.id}`)).body.status).toBe('PENDING');

    await query(stack.databaseUrl, 'DROP TRIGGER fault_BROKEN ON warehouse.reservations');
    const admin = kafka.admin();
    await admin.connect();
    const placedBefore = await topicSize(admin, `${stack.prefix}order.placed`);
    // A body of JSON null, or none, is not read as "redrive everything": 400, and the letter stays pending.
    const nulled = await app.http.post('/admin/dlq/warehouse/redrive').set(app.admin).set('content-type', 'application/json').send('null').expect(400);
    expect(nulled.body.message).toEqual(['the request body must be a JSON object']);
    await app.http.post('/admin/dlq/warehouse/redrive').set(app.admin).expect(400);
    expect((await app.http.get('/admin/dlq/warehouse?pending=true').set(app.admin).expect(200)).body.items.map((i: { id: string }) => i.id)).toContain(parked.id);
    const redrive = await app.http.post('/admin/dlq/warehouse/redrive').set(app.admin).send({}).expect(200);
    expect(redrive.body.redriven).toContain(parked.id);
    await orderReaches(app, broken.id, 'CONFIRMED');
    // It went back to the warehouse alone (its retry topic), not to every group reading order.placed.
    expect(await topicSize(admin, `${stack.prefix}order.placed`)).toBe(placedBefore);
    await admin.disconnect();
    const redriven = (m: ReadMessage) => m.message.headers?.['redriven-from']?.toString() === `${stack.prefix}warehouse.dlq@${parked.id}`;
    const back = await readTopics(kafka, [`${stack.prefix}warehouse.retry.1`], (ms) => ms.some(redriven));
    // The copy is the parked event itself: its order, under its key.
    expect(back.filter(redriven).map((m) => [m.message.key?.toString(), JSON.parse(m.message.value!.toString()).payload.orderId])).toEqual([[broken.id, broken.id]]);
    const after = await app.http.get('/admin/dlq/warehouse').set(app.admin).expect(200);
    expect(after.body.items.find((i: { id: string }) => i.id === parked.id).redriven).toBe(true);
    const pending = await app.http.get('/admin/dlq/warehouse').query({ pending: 'true' }).set(app.admin).expect(200);
    expect(pending.body.items.map((i: { id: string }) => i.id)).not.toContain(parked.id);
    expect(pending.body.nextCursor).toBeNull();
    await app.http.get('/admin/dlq/warehouse').query({ pending: 'yes' }).set(app.admin).expect(400);
    const badCursor = await app.http.get('/admin/dlq/warehouse').query({ cursor: '0:1;DROP' }).set(app.admin).expect(400);
    expect(JSON.stringify(badCursor.body)).toContain('cursor must be the nextCursor of an earlier page');
    // A second redrive of everything sends nothing: the mark moved past it.
    const again = await app.http.post('/admin/dlq/warehouse/redrive').set(app.admin).send({}).expect(200);
    expect(again.body.redriven).toEqual([]);
  });

  it('parks an event that keeps failing with a connection error while the database answers, instead of holding its partition forever', async () => {
    // Postgres answers every probe, yet this event's statement fails each time as a connection being
    // terminated would (57P01, from a trigger): its own fault, so it spends its retry budget.
    await failReservations(stack.databaseUrl, 'SEVERED', 1_000_000, '57P01');
    const severed = await placeOrder(app, [{ sku: 'SEVERED', quantity: 1 }]);
    const parked = await expectEventually(async () => {
      const res = await app.http.get('/admin/dlq/warehouse').query({ pending: 'true' }).set(app.admin).expect(200);
      const item = res.body.items.find((i: { key: string }) => i.key === severed.id);
      expect(item).toBeDefined();
      return item;
    }, 30_000, 500);
    expect(parked).toMatchObject({ type: 'order.placed', attempts: 6, permanent: false });
    expect(parked.error).toContain('injected failure for SEVERED');
    const fine = await placeOrder(app, [{ sku: 'FINE', quantity: 1 }]);
    await orderReaches(app, fine.id, 'CONFIRMED');
    await query(stack.databaseUrl, 'DROP TRIGGER fault_SEVERED ON warehouse.reservations');
  });

  it('creates the retry topics with KAFKA_RETRY_TOPIC_PARTITIONS partitions and the others with KAFKA_TOPIC_PARTITIONS', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const names = ['warehouse.retry.1', 'warehouse.retry.2', 'order.placed', 'warehouse.dlq'].map((t) => `${stack.prefix}${t}`);
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      const partitions = Object.fromEntries(topics.map((t) => [t.name.slice(stack.prefix.length), t.partitions.length]));
      expect(partitions).toEqual({
        'warehouse.retry.1': app.env.KAFKA_RETRY_TOPIC_PARTITIONS,
        'warehouse.retry.2': app.env.KAFKA_RETRY_TOPIC_PARTITIONS,
        'order.placed': app.env.KAFKA_TOPIC_PARTITIONS,
        'warehouse.dlq': app.env.KAFKA_TOPIC_PARTITIONS,
      });
      expect(app.env.KAFKA_RETRY_TOPIC_PARTITIONS).not.toBe(app.env.KAFKA_TOPIC_PARTITIONS);
    } finally {
      await admin.disconnect();
    }
  });

  it('guards the DLQ tools with the admin token and validates the module', async () => {
    await app.http.get('/admin/dlq/warehouse').expect(401);
    await app.http.get('/admin/dlq/warehouse').set('Authorization', 'Bearer wrong-token-value').expect(403);
    await app.http.get('/admin/dlq/billing').set(app.admin).expect(400);
  });
});

describe('failure handling: a retry waiting for its due time holds up nothing else', () => {
  let stack: TestStack;
  let app: TestApp;
  let proxy: PgProxy;
  // No such product: handled, the warehouse rejects it.
  const stranded = placedEnvelope({ sku: 'NO-SUCH-SKU' });

  beforeAll(async () => {
    stack = await createTestStack('retrywait');
    // The warehouse reaches Postgres through a TCP proxy that can play a database gone away.
    proxy = await startPgProxy(stack.databaseUrl);
    // A retry written while KAFKA_RETRY_DELAYS_MS had three levels, waiting on the third.
    const kafka = testKafka(stack.brokers);
    await createTopic(kafka, `${stack.prefix}warehouse.retry.3`, 1);
    await publish(kafka, `${stack.prefix}warehouse.retry.3`, [{ key: stranded.key, value: stranded, headers: {
      'retry-source-topic': `${stack.prefix}order.placed`, 'retry-source-partition': '0', 'retry-source-offset': '0', 'retry-attempts': '3',
      // Due in an hour by its header: a level the setting no longer has has no delay, so it is due at once.
      'retry-due-at': String(Date.now() + 3_600_000),
    } }]);
    // No in-place retry, one retry topic with a 15 s delay.
    app = await startTestApp(stack, { KAFKA_HANDLER_RETRIES: '0', KAFKA_RETRY_DELAYS_MS: '15000', WAREHOUSE_DATABASE_URL: proxy.url });
    await createProduct(app, stack, 'LATER', 10);
    await createProduct(app, stack, 'NOW', 10);
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await stack?.drop();
  });

  it('handles a retry left on a level KAFKA_RETRY_DELAYS_MS no longer has (it had three, now one) instead of never reading it', async () => {
    const kafka = testKafka(stack.brokers);
    const isOurs = (m: ReadMessage) => JSON.parse(m.message.value!.toString()).payload.orderId === stranded.payload.orderId;
    const rejected = await readTopics(kafka, [`${stack.prefix}stock.rejected`], (m) => m.some(isOurs), 20_000);
    expect(rejected.filter(isOurs)).toHaveLength(1);
  });

  it('keeps reserving other orders while a failed reservation waits 15 s on the retry topic, then retries it', async () => {
    await failReservations(stack.databaseUrl, 'LATER', 1_000_000);
    const later = await placeOrder(app, [{ sku: 'LATER', quantity: 1 }]);
    const kafka = testKafka(stack.brokers);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await expectEventually(async () => expect(await topicSize(admin, `${stack.prefix}warehouse.retry.1`)).toBe(1));
    } finally {
      await admin.disconnect();
    }
    // The retry is due 15 s from about now: everything below up to the trigger's removal must fit in that.
    const due = Date.now() + 14_000; // a second short: the retry was written a poll before we saw it
    // Side by side: one after the other, three round trips on a loaded box could outlast the budget.
    const nows = await Promise.all([0, 1, 2].map(() => placeOrder(app, [{ sku: 'NOW', quantity: 1 }])));
    await Promise.all(nows.map((now) => orderReaches(app, now.id, 'CONFIRMED', 10_000)));
    expect((await app.http.get(`/orders/${later.id}`).expect(200)).body.status).toBe('PENDING');
    // The cause goes away before the retry is due: the retry reserves it.
    await query(stack.databaseUrl, 'DROP TRIGGER fault_LATER ON warehouse.reservations');
    // Past the due time, the retry could already have failed (and parked LATER) before the fix: the test would prove nothing.
    expect(Date.now()).toBeLessThan(due);
    await orderReaches(app, later.id, 'CONFIRMED', 30_000);
    // Reserved once: the failed attempt left nothing behind.
    expect((await app.http.get('/products/LATER').expect(200)).body).toMatchObject({ available: 9, reserved: 1 });
  });
  it('keeps its place in its group while an event waits out a 16 s database outage, then handles it without spending a retry', async () => {
    const groupId = new KafkaNaming(app.env.KAFKA_TOPIC_PREFIX, app.env.KAFKA_GROUP_PREFIX).group('warehouse');
    const admin = testKafka(stack.brokers).admin();
    await admin.connect();
    try {
      const members = async () => (await admin.describeGroups([groupId])).groups[0].members.map((m) => m.memberId);
      const before = await members();
      expect(before).toHaveLength(1);
      const retried = await topicSize(admin, `${stack.prefix}warehouse.retry.1`);
      // The warehouse's database goes away (its connections cut, new ones refused) for longer than
      // the 10 s session timeout; the order module's stays, so the order is placed and published.
      proxy.goDown();
      const outageStarted = Date.now();
      const order = await placeOrder(app, [{ sku: 'NOW', quantity: 1 }]);
      await expectEventually(() => {
        expect(proxy.refused).toBeGreaterThan(5); // the event's attempts and the probes between them
        expect(Date.now() - outageStarted).toBeGreaterThanOrEqual(16_000);
      }, 30_000, 250);
      proxy.comeBack();
      await orderReaches(app, order.id, 'CONFIRMED', 40_000);
      // The probe found the database away: every attempt was an outage, none went to the retry topic.
      expect(await topicSize(admin, `${stack.prefix}warehouse.retry.1`)).toBe(retried);
      // Silent for the session timeout, the member would have been put out and joined again under a new id.
      expect(await members()).toEqual(before);
    } finally {
      proxy.comeBack();
      await admin.disconnect();
    }
  });
});

describe('failure handling: redriving every dead letter', () => {
  let stack: TestStack;
  let kafka: Kafka;

  beforeAll(async () => {
    stack = await createTestStack('redrive');
    kafka = testKafka(stack.brokers);
  });

  afterAll(async () => {
    await stack?.drop();
  });

  it('marks as redriven only the letters it sent, not one parked while it was sending, and lists and redrives what is left from the mark on (the redrive sends to a recording stub)', async () => {
    const naming = new KafkaNaming(stack.prefix, stack.prefix);
    const dlq = naming.deadLetterTopic('email');
    await createTopic(kafka, dlq, 1);
    const letter = (n: number) => ({ key: `order-${n}`, value: { eventId: `00000000-0000-7000-8000-00000000000${n}`, type: 'order.placed' } });
    await publish(kafka, dlq, [letter(1), letter(2)]);
    const sent: OutgoingMessage[] = [];
    const tools = new DeadLetters(kafka, naming, async (messages) => {
      sent.push(...messages);
      await publish(kafka, dlq, [letter(3)]); // parked by the module while the redrive sends
    });

    const { redriven } = await tools.redrive('email');
    expect(redriven).toEqual(['0:0', '0:1']);
    expect(sent.map((m) => m.key)).toEqual(['order-1', 'order-2']);
    const after = await tools.list('email');
    expect(after.items.map((l) => [l.id, l.redriven])).toEqual([
      ['0:0', true],
      ['0:1', true],
      ['0:2', false],
    ]);
    // What is still parked, read from the redrive mark on; the next redrive-all sends that alone.
    expect((await tools.list('email', { pending: true })).items.map((l) => l.id)).toEqual(['0:2']);
    sent.length = 0;
    expect((await new DeadLetters(kafka, naming, async (messages) => void sent.push(...messages)).redrive('email')).redriven).toEqual(['0:2']);
    expect(sent.map((m) => m.key)).toEqual(['order-3']);
    expect(await tools.list('email', { pending: true })).toEqual({ items: [], nextCursor: null });
  });

  it('remembers letters redriven by id: listed as redriven, neither pending nor sent again by a redrive of everything, in the metrics too (sends to a recording stub)', async () => {
    const naming = new KafkaNaming(stack.prefix, stack.prefix);
    const dlq = naming.deadLetterTopic('warehouse');
    await createTopic(kafka, dlq, 1);
    const letter = (n: number) => ({ key: `w-${n}`, value: { eventId: `00000000-0000-7000-8000-0000000003${n}0`, type: 'order.placed' } });
    await publish(kafka, dlq, [1, 2, 3, 4].map(letter));
    const sent: string[] = [];
    const tools = new DeadLetters(kafka, naming, async (messages) => void sent.push(...messages.map((m) => m.key)));
    const admin = kafka.admin();
    await admin.connect();
    try {
      const pendingNow = () => pendingLetters(admin, `${naming.group('warehouse')}.dlq-redrive`, dlq);
      // By letter id and by event id.
      expect((await tools.redrive('warehouse', ['0:1', '00000000-0000-7000-8000-000000000340'])).redriven).toEqual(['0:1', '0:3']);
      expect(sent).toEqual(['w-2', 'w-4']);
      expect((await tools.list('warehouse')).items.map((l) => [l.id, l.redriven])).toEqual([
        ['0:0', false],
        ['0:1', true],
        ['0:2', false],
        ['0:3', true],
      ]);
      expect((await tools.list('warehouse', { pending: true })).items.map((l) => l.id)).toEqual(['0:0', '0:2']);
      expect(await pendingNow()).toBe(2);

      sent.length = 0;
      expect((await tools.redrive('warehouse')).redriven).toEqual(['0:0', '0:2']);
      expect(sent).toEqual(['w-1', 'w-3']);
      expect(await tools.list('warehouse', { pending: true })).toEqual({ items: [], nextCursor: null });
      expect(await pendingNow()).toBe(0);
      // The mark passed them all: nothing is left in its metadata.
      const [{ partitions }] = await admin.fetchOffsets({ groupId: `${naming.group('warehouse')}.dlq-redrive`, topics: [dlq] });
      expect(partitions.map((p) => [p.offset, p.metadata || null])).toEqual([['4', null]]);
    } finally {
      await admin.disconnect();
    }
  });

  /** Names of their own (`<prefix><name>.`), and the warehouse's DLQ there holding three letters keyed `<key>-1..3`. */
  async function warehouseDlqOfThree(name: string, key: string, idDigit: number): Promise<KafkaNaming> {
    const naming = new KafkaNaming(`${stack.prefix}${name}.`, `${stack.prefix}${name}.`);
    const dlq = naming.deadLetterTopic('warehouse');
    await createTopic(kafka, dlq, 1);
    await publish(kafka, dlq, [1, 2, 3].map((n) => ({ key: `${key}-${n}`, value: { eventId: `00000000-0000-7000-8000-000000000${idDigit}${n}0`, type: 'order.placed' } })));
    return naming;
  }

  it('does not send again a letter redriven by id after a redrive of everything read the marks and before it joined the redrive group (sends to stubs)', async () => {
    const naming = await warehouseDlqOfThree('late', 'l', 5);
    const byId = new DeadLetters(kafka, naming, async () => undefined);
    // The redrive of everything reads the marks, then its consumer connects: the redrive of 0:1 lands in between.
    const interleaved = Object.create(kafka) as Kafka;
    interleaved.consumer = (config) => {
      const consumer = kafka.consumer(config);
      if (config.groupId.endsWith('.dlq-redrive')) {
        const connect = consumer.connect.bind(consumer);
        consumer.connect = async () => {
          expect((await byId.redrive('warehouse', ['0:1'])).redriven).toEqual(['0:1']);
          return connect();
        };
      }
      return consumer;
    };
    const sent: string[] = [];
    const everything = new DeadLetters(interleaved, naming, async (messages) => void sent.push(...messages.map((m) => m.key)));
    expect((await everything.redrive('warehouse')).redriven).toEqual(['0:0', '0:2']);
    expect(sent).toEqual(['l-1', 'l-3']);
    expect(await byId.list('warehouse', { pending: true })).toEqual({ items: [], nextCursor: null });
  });

  it('does not move the redrive mark back when a redrive of everything finished while a redrive by id was sending (sends to stubs)', async () => {
    const naming = await warehouseDlqOfThree('race', 'r', 4);
    const dlq = naming.deadLetterTopic('warehouse');
    const everything = new DeadLetters(kafka, naming, async () => undefined);
    // While the redrive of 0:1 sends, a redrive of everything runs to its end.
    const byId = new DeadLetters(kafka, naming, async () => void (await everything.redrive('warehouse')));
    expect((await byId.redrive('warehouse', ['0:1'])).redriven).toEqual(['0:1']);
    expect(await byId.list('warehouse', { pending: true })).toEqual({ items: [], nextCursor: null });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [{ partitions }] = await admin.fetchOffsets({ groupId: `${naming.group('warehouse')}.dlq-redrive`, topics: [dlq] });
      expect(partitions.map((p) => p.offset)).toEqual(['3']);
    } finally {
      await admin.disconnect();
    }
  });

  it('refuses a redrive while another one runs (the redrive group has a member), sending nothing', async () => {
    const naming = new KafkaNaming(stack.prefix, stack.prefix);
    const dlq = naming.deadLetterTopic('email');
    await createTopic(kafka, dlq, 1).catch(() => undefined); // the first test of this describe made it
    await publish(kafka, dlq, [{ key: 'busy', value: { eventId: '00000000-0000-7000-8000-000000000777', type: 'order.placed' } }]);
    const other = kafka.consumer({ groupId: `${naming.group('email')}.dlq-redrive` });
    let joined = false;
    other.on(other.events.GROUP_JOIN, () => (joined = true));
    await other.connect();
    try {
      await other.subscribe({ topics: [dlq] });
      await other.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
      await expectEventually(() => expect(joined).toBe(true), 30_000, 100);
      const sent: string[] = [];
      const tools = new DeadLetters(kafka, naming, async (messages) => void sent.push(...messages.map((m) => m.key)), { readIdleMs: 5000 });
      await expect(tools.redrive('email')).rejects.toThrow(RedriveInProgressError);
      await expect(tools.redrive('email', ['00000000-0000-7000-8000-000000000777'])).rejects.toThrow(RedriveInProgressError);
      expect(sent).toEqual([]);
    } finally {
      await other.disconnect();
    }
  });

  /** Seven letters in a module's two-partition DLQ: a1-a4 on partition 0, b1-b3 on 1 (event ids `…0000000000<digit><n>`). */
  async function parkSevenLetters(module: 'analytics' | 'order', digit: string): Promise<{ naming: KafkaNaming; keys: string[] }> {
    const naming = new KafkaNaming(stack.prefix, stack.prefix);
    const dlq = naming.deadLetterTopic(module);
    await createTopic(kafka, dlq, 2);
    const keys = ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3'];
    await publish(
      kafka,
      dlq,
      keys.map((key, n) => ({ key, partition: key.startsWith('a') ? 0 : 1, value: { eventId: `00000000-0000-7000-8000-0000000000${digit}${n}`, type: 'order.placed' } })),
    );
    return { naming, keys };
  }

  it('redrives a long DLQ a page at a time, and a redrive that fails part way resumes after the pages it sent (a stub send that refuses one page)', async () => {
    const { naming, keys } = await parkSevenLetters('analytics', '1');
    const pages: string[][] = [];
    let refuseSecondPage = true;
    const tools = new DeadLetters(
      kafka,
      naming,
      async (messages) => {
        if (pages.length === 1 && refuseSecondPage) {
          refuseSecondPage = false;
          throw new Error('the broker refused the page');
        }
        pages.push(messages.map((m) => m.key));
      },
      { pageSize: 3 },
    );

    await expect(tools.redrive('analytics')).rejects.toThrow('the broker refused the page');
    expect(pages).toHaveLength(1);
    expect(pages[0]).toHaveLength(3);
    // The page sent is behind the redrive mark; the four letters after it are still pending.
    const pending = (await tools.list('analytics', { pending: true })).items.map((l) => l.key);
    expect(pending.sort()).toEqual(keys.filter((k) => !pages[0].includes(k)).sort());

    const { redriven } = await tools.redrive('analytics');
    expect(redriven).toHaveLength(4);
    expect(pages.slice(1).every((page) => page.length <= 3)).toBe(true);
    expect(pages.flat().sort()).toEqual([...keys].sort()); // each letter sent once
    expect(await tools.list('analytics', { pending: true })).toEqual({ items: [], nextCursor: null });
    // Per partition, letters went back in the order they were parked.
    const sentOf = (prefix: string) => pages.flat().filter((k) => k.startsWith(prefix));
    expect(sentOf('a')).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(sentOf('b')).toEqual(['b1', 'b2', 'b3']);
  });

  it('lists a long DLQ a page at a time: each letter once across the pages, and the last page says there is no more', async () => {
    const { naming, keys } = await parkSevenLetters('order', '2');
    const tools = new DeadLetters(kafka, naming, async () => undefined);
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await tools.list('order', { limit: 3, cursor });
      pages.push(page.items.map((l) => l.key ?? ''));
      cursor = page.nextCursor ?? undefined;
    } while (cursor && pages.length < 10);
    expect(pages.every((page) => page.length <= 3)).toBe(true);
    expect(pages.flat().sort()).toEqual([...keys].sort());
    expect(pages.length).toBeGreaterThanOrEqual(3);
    // A cursor past the end reads nothing more.
    expect(await tools.list('order', { cursor: '0:4,1:3' })).toEqual({ items: [], nextCursor: null });
  });
});
