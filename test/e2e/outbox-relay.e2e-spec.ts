import { randomUUID } from 'node:crypto';
import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { OrderPlaced } from '../../src/contracts';
import { createMessagingTables } from '../../src/platform/database/messaging-tables';
import { KafkaNaming } from '../../src/platform/kafka/kafka-naming';
import { KafkaProducer } from '../../src/platform/kafka/kafka-producer';
import { OutboxRelay } from '../../src/platform/kafka/outbox-relay';
import { TopicProvisioner } from '../../src/platform/kafka/topic-provisioner';
import { expectEventually } from '../support/eventually';
import { placedEnvelope, readTopics, testKafka, topicSize } from '../support/kafka';
import { createTestStack, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

/**
 * The outbox relay against a real broker and Postgres: what reaches Kafka, in which order, and that
 * two relays of one schema (two processes running the module) never publish at the same time.
 */
describe('outbox relay: one publisher per schema, every event once, each key in order', () => {
  let stack: TestStack;
  let kafka: Kafka;
  let ds: DataSource;
  const relays: OutboxRelay[] = [];

  beforeAll(async () => {
    stack = await createTestStack('relay');
    kafka = testKafka(stack.brokers);
    ds = new DataSource({ type: 'postgres', url: stack.databaseUrl, extra: { max: 4 } });
    await ds.initialize();
    const runner = ds.createQueryRunner();
    try {
      for (const schema of ['relayed', 'notified', 'bulky', 'raced', 'kept', 'backoff']) {
        await runner.query(`CREATE SCHEMA ${schema}`);
        await createMessagingTables(runner, schema);
      }
    } finally {
      await runner.release();
    }
  });

  afterAll(async () => {
    await Promise.all(relays.map((r) => r.stop(1000)));
    await ds?.destroy();
    await stack?.drop();
  });

  /** Writes envelopes into a schema's outbox, in order, with one statement (one NOTIFY). */
  const enqueue = (schema: string, envelopes: { eventId: string; key: string }[]) =>
    query(
      stack.databaseUrl,
      `INSERT INTO ${schema}.outbox (event_id, topic, key, envelope) SELECT (e->>'eventId')::uuid, 'order.placed', e->>'key', e
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(e, n) ORDER BY n`,
      [JSON.stringify(envelopes)],
    );

  function relay(naming: KafkaNaming, { pollMs = 100, schema = 'relayed', dataSource = ds } = {}): OutboxRelay {
    const values: Record<string, unknown> = {
      KAFKA_BROKERS: stack.brokers,
      KAFKA_CLIENT_ID: `relay-${relays.length}`,
      KAFKA_TOPIC_PARTITIONS: 3,
      KAFKA_REPLICATION_FACTOR: 1,
    };
    const config = { get: (k: string) => values[k] } as never;
    const r = new OutboxRelay(dataSource, new KafkaProducer(config), naming, new TopicProvisioner(config, naming), {
      module: 'order',
      schema,
      batchSize: 40,
      pollMs,
    });
    relays.push(r);
    return r;
  }

  it('two relays of one schema wait while another holds its lock, then publish every row once, in order per key, and empty the outbox', async () => {
    const naming = new KafkaNaming(`${stack.prefix}relay.`, `${stack.prefix}relay.`);
    const orders = Array.from({ length: 5 }, () => randomUUID());
    const envelopes = Array.from({ length: 200 }, (_, i) =>
      placedEnvelope({ orderId: orders[i % orders.length], customerEmail: `c${i}@example.com` }),
    );
    await enqueue('relayed', envelopes);

    // Someone else publishing this schema: holds the relay lock in an open transaction.
    const holder = new Client({ connectionString: stack.databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtext('outbox:relayed'))`);
      const [first, second] = [relay(naming), relay(naming)];
      const attempts = [jest.spyOn(first, 'publishBatch'), jest.spyOn(second, 'publishBatch')];
      first.start();
      second.start();
      // Both keep trying (a poll every 100 ms) and send nothing while the lock is taken.
      await expectEventually(() => {
        for (const spy of attempts) expect(spy.mock.calls.length).toBeGreaterThanOrEqual(3);
      }, 20_000);
      const waiting = await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM relayed.outbox`);
      expect(waiting[0].n).toBe(envelopes.length);
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }

    await expectEventually(async () => {
      const left = await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM relayed.outbox`);
      expect(left[0].n).toBe(0);
    }, 20_000);
    const read = await readTopics(kafka, [naming.topic(OrderPlaced.topic)], (ms) => ms.length >= envelopes.length);
    const ids = read.map((m) => m.message.headers?.['event-id']?.toString());
    expect(new Set(ids).size).toBe(envelopes.length); // none twice, none missing
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await topicSize(admin, naming.topic(OrderPlaced.topic))).toBe(envelopes.length);
    } finally {
      await admin.disconnect();
    }
    for (const order of orders) {
      const written = envelopes.filter((e) => e.key === order).map((e) => e.eventId);
      const published = read.filter((m) => m.message.key?.toString() === order).map((m) => m.message.headers?.['event-id']?.toString());
      expect(published).toEqual(written);
    }
  });

  it("has Postgres probe its session's client after 10 s of silence, so a relay whose host died mid-batch frees the schema's lock in ~25 s, not two hours", async () => {
    const r = relay(new KafkaNaming(`${stack.prefix}keepalive.`, stack.prefix), { schema: 'kept', pollMs: 600_000 });
    r.start();
    // The relay's own connection (private): what its session was told.
    const session = await expectEventually(() => {
      const c = (r as unknown as { connected?: Client }).connected;
      expect(c).toBeDefined();
      return c!;
    });
    const show = async (name: string) => (await session.query<Record<string, string>>(`SHOW ${name}`)).rows[0][name];
    expect([await show('tcp_keepalives_idle'), await show('tcp_keepalives_interval'), await show('tcp_keepalives_count')]).toEqual(['10', '5', '3']);
    await r.stop(1000);
  });

  it('is woken by the NOTIFY of each insert: with a 10-minute poll, rows inserted after it went idle are published', async () => {
    const naming = new KafkaNaming(`${stack.prefix}notify.`, `${stack.prefix}notify.`);
    const r = relay(naming, { pollMs: 600_000, schema: 'notified' });
    const attempts = jest.spyOn(r, 'publishBatch');
    r.start();
    // Its first two batches find nothing: the one at start, and the one the LISTEN's own wake asks for
    // (rows committed before it listened sent no notification it heard). Then it idles for 10 minutes.
    await expectEventually(() => expect(attempts.mock.calls.length).toBeGreaterThanOrEqual(2), 20_000);
    expect(await Promise.all(attempts.mock.results.map((x) => x.value))).toEqual([0, 0]);
    const idleAfter = attempts.mock.calls.length;

    const orderId = randomUUID();
    const envelopes = [1, 2, 3].map((n) =>
      placedEnvelope({ orderId, customerEmail: `n${n}@example.com`, quantity: n }),
    );
    // Three statements, three commits: each wakes the relay (or finds it already awake).
    for (const e of envelopes) await enqueue('notified', [e]);
    const read = await readTopics(kafka, [naming.topic(OrderPlaced.topic)], (ms) => ms.length >= envelopes.length);
    expect(read.map((m) => m.message.headers?.['event-id']?.toString())).toEqual(envelopes.map((e) => e.eventId));
    expect(attempts.mock.calls.length).toBeGreaterThan(idleAfter);
    await expectEventually(async () => {
      const left = await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM notified.outbox`);
      expect(left[0].n).toBe(0);
    }, 20_000);
  });

  it('backs off after a failure whatever NOTIFYs come meanwhile (20 inserts in a second: a few attempts, not one per insert)', async () => {
    const naming = new KafkaNaming(`${stack.prefix}backoff.`, `${stack.prefix}backoff.`);
    const r = relay(naming, { pollMs: 600_000, schema: 'backoff' });
    // Every batch fails at once, as a missing grant or relation would.
    const attempts = jest.spyOn(r, 'publishBatch').mockRejectedValue(new Error('permission denied for table outbox'));
    r.start();
    await expectEventually(() => expect(attempts.mock.calls.length).toBeGreaterThanOrEqual(1));
    const before = attempts.mock.calls.length;
    const started = Date.now();
    for (let n = 0; n < 20; n++) await enqueue('backoff', [placedEnvelope({ customerEmail: `b${n}@example.com` })]);
    const elapsed = Date.now() - started;
    // Backoff from 100 ms doubling: ~log2(elapsed / 100) + 1 attempts while the inserts ran.
    expect(attempts.mock.calls.length - before).toBeLessThanOrEqual(Math.ceil(Math.log2(elapsed / 100 + 1)) + 2);
    attempts.mockRestore();
  });

  it('publishes a batch larger than the broker takes in one request (1 MiB by default) in several, in order', async () => {
    const naming = new KafkaNaming(`${stack.prefix}bulky.`, `${stack.prefix}bulky.`);
    const orderId = randomUUID();
    // Three events of one key (one partition) of ~600 KB each: 1.8 MB in one record batch was refused.
    const envelopes = [1, 2, 3].map((n) =>
      placedEnvelope({ orderId, customerEmail: `${'x'.repeat(600_000)}${n}@example.com`, quantity: n }),
    );
    await enqueue('bulky', envelopes);
    relay(naming, { schema: 'bulky' }).start();
    await expectEventually(async () => {
      const left = await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM bulky.outbox`);
      expect(left[0].n).toBe(0);
    }, 20_000);
    const read = await readTopics(kafka, [naming.topic(OrderPlaced.topic)], (ms) => ms.length >= envelopes.length, 30_000);
    expect(read.map((m) => m.message.headers?.['event-id']?.toString())).toEqual(envelopes.map((e) => e.eventId));
  });

  it('a relay granted the lock only after another relay published and deleted rows does not publish them again (the delay injected by a lock function that waits on a gate)', async () => {
    const naming = new KafkaNaming(`${stack.prefix}raced.`, `${stack.prefix}raced.`);
    const envelopes = Array.from({ length: 5 }, (_, i) =>
      placedEnvelope({ customerEmail: `r${i}@example.com` }),
    );
    await enqueue('raced', envelopes);
    // Found before pg_catalog's on the relay's connection only: it waits on a gate the test holds, then takes the lock.
    await query(
      stack.databaseUrl,
      `CREATE SCHEMA relay_hooks;
       CREATE FUNCTION relay_hooks.pg_try_advisory_xact_lock(key int) RETURNS boolean LANGUAGE plpgsql AS $$
       BEGIN
         PERFORM pg_catalog.pg_advisory_xact_lock(hashtext('relay-gate'));
         RETURN pg_catalog.pg_try_advisory_xact_lock(key);
       END $$`,
    );
    const hooked = new DataSource({
      type: 'postgres',
      url: `${stack.databaseUrl}?options=${encodeURIComponent('-c search_path=relay_hooks,pg_catalog,public')}`,
    });
    const gate = new Client({ connectionString: stack.databaseUrl });
    const other = new Client({ connectionString: stack.databaseUrl });
    await Promise.all([gate.connect(), other.connect()]);
    try {
      await gate.query('BEGIN');
      await gate.query(`SELECT pg_advisory_xact_lock(hashtext('relay-gate'))`);
      const late = relay(naming, { schema: 'raced', dataSource: hooked });
      const attempts = jest.spyOn(late, 'publishBatch');
      late.start();
      // Its first batch has begun and waits at the gate, before it holds the relay lock.
      await expectEventually(async () => {
        const waiting = await query(
          stack.databaseUrl,
          `SELECT 1 FROM pg_stat_activity WHERE application_name = 'shop:order:outbox-relay' AND wait_event = 'advisory'`,
        );
        expect(waiting).toHaveLength(1);
      });
      // Meanwhile another relay of the schema publishes the rows and deletes them, under the lock.
      await other.query('BEGIN');
      await other.query(`SELECT pg_advisory_xact_lock(hashtext('outbox:raced'))`);
      expect((await other.query('DELETE FROM raced.outbox')).rowCount).toBe(envelopes.length);
      await other.query('COMMIT');
      await gate.query('COMMIT');

      await expectEventually(() => expect(attempts.mock.results.length).toBeGreaterThanOrEqual(1));
      expect(await attempts.mock.results[0].value).toBe(0);
      const admin = kafka.admin();
      await admin.connect();
      try {
        expect(await topicSize(admin, naming.topic(OrderPlaced.topic))).toBe(0);
      } finally {
        await admin.disconnect();
      }
    } finally {
      await Promise.all([gate.end(), other.end()]);
    }
  });
});
