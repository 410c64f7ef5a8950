import { randomUUID } from 'node:crypto';
import { Admin, ConfigResourceTypes } from 'kafkajs';
import { DataSource } from 'typeorm';
import { createMessagingTables } from '../../src/platform/database/messaging-tables';
import { uuidV7 } from '../../src/platform/database/uuid-v7';
import { InboxPruner, InboxPrunerOptions } from '../../src/platform/kafka/inbox-pruner';
import { KafkaNaming } from '../../src/platform/kafka/kafka-naming';
import { TopicProvisioner } from '../../src/platform/kafka/topic-provisioner';
import { expectEventually } from '../support/eventually';
import { testKafka } from '../support/kafka';
import { collectLogLines, createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

const HOUR = 3_600_000;
const MINUTE = 60_000;

/**
 * Inbox pruning against a real broker (the topics' retention settings) and Postgres: rows go only
 * once no topic can deliver their event again, and never when a topic keeps events forever.
 */
describe('inbox pruner: deletes only rows no topic can redeliver', () => {
  let stack: TestStack;
  let admin: Admin;
  let ds: DataSource;
  let provisioner: TopicProvisioner;
  const topic = (name: string) => `${stack.prefix}${name}`;

  beforeAll(async () => {
    stack = await createTestStack('prune');
    admin = testKafka(stack.brokers).admin();
    await admin.connect();
    const configured = (name: string, retentionMs: number | string, segmentMs: number, policy = 'delete') => ({
      topic: topic(name),
      numPartitions: 1,
      configEntries: [
        { name: 'retention.ms', value: String(retentionMs) },
        { name: 'segment.ms', value: String(segmentMs) },
        { name: 'cleanup.policy', value: policy },
      ],
    });
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        configured('two-hours', 2 * HOUR, 10 * MINUTE),
        configured('one-hour', HOUR, HOUR),
        configured('ten-minutes', 10 * MINUTE, MINUTE),
        configured('forever', -1, HOUR),
        configured('compacted', HOUR, HOUR, 'compact'),
        configured('long-max', '9223372036854775807', HOUR),
      ],
    });
    const values: Record<string, unknown> = { KAFKA_BROKERS: stack.brokers, KAFKA_CLIENT_ID: 'prune-test' };
    provisioner = new TopicProvisioner({ get: (k: string) => values[k] } as never, new KafkaNaming(stack.prefix, stack.prefix));
    ds = new DataSource({ type: 'postgres', url: stack.databaseUrl, extra: { max: 2 } });
    await ds.initialize();
    const runner = ds.createQueryRunner();
    try {
      await runner.query('CREATE SCHEMA pruned');
      await createMessagingTables(runner, 'pruned');
    } finally {
      await runner.release();
    }
  });

  afterAll(async () => {
    await ds?.destroy();
    await admin?.disconnect();
    await stack?.drop();
  });

  beforeEach(() => ds.query('TRUNCATE pruned.inbox'));

  /** A pruner whose module consumes `consumed`, parks events in `deadLetter` and redrives them to `redrive`. */
  const pruner = (
    consumed: string[] | undefined,
    options: Partial<InboxPrunerOptions> = {},
    { deadLetter = 'ten-minutes', redrive = 'ten-minutes' } = {},
  ) =>
    new InboxPruner(
      ds,
      {
        topics: () => consumed && { consumed: consumed.map(topic), deadLetter: topic(deadLetter), redrive: topic(redrive) },
        retention: (t) => provisioner.retention(t),
      },
      { module: 'warehouse', schema: 'pruned', intervalMs: 0, retryDelaysMs: [1000, 10_000], ...options },
    );
  // The consumed topics' longest retention.ms + segment.ms (two-hours: 2 h + 10 min), 11 s of retry delays, the margin.
  const HORIZON = 2 * HOUR + 10 * MINUTE + 11_000 + HOUR;

  /** Inbox rows for events that occurred `occurredAgoMs` ago and were handled `handledAgoMs` ago. */
  async function rows(count: number, occurredAgoMs: number, handledAgoMs: number, id = () => uuidV7(Date.now() - occurredAgoMs)): Promise<string[]> {
    const ids = Array.from({ length: count }, id);
    await ds.query(
      `INSERT INTO pruned.inbox (event_id, handler, type, correlation_id, handled_at)
       SELECT e, 'warehouse.reserve-stock', 'order.placed', 'c', now() - $2::bigint * interval '1 millisecond' FROM unnest($1::uuid[]) e`,
      [ids, handledAgoMs],
    );
    return ids;
  }
  const remaining = async () => new Set((await ds.query(`SELECT event_id::text AS id FROM pruned.inbox`)).map((r: { id: string }) => r.id));

  it("keeps rows for the topics' longest retention.ms + segment.ms, plus the retry delays and an hour", async () => {
    // two-hours: 2 h + 10 min; one-hour: 1 h + 1 h; the DLQ and the redrive topic 11 min each.
    expect(await pruner(['two-hours', 'one-hour']).horizon()).toEqual({ keepMs: HORIZON });
  });

  it('keeps rows as long as a dead letter can be redriven on the DLQ\'s last day and then read again from the redrive topic', async () => {
    // DLQ two-hours (2 h 10 min), then the redrive topic one-hour (2 h): 4 h 10 min, longer than any consumed topic.
    const p = pruner(['ten-minutes'], {}, { deadLetter: 'two-hours', redrive: 'one-hour' });
    expect(await p.horizon()).toEqual({ keepMs: 4 * HOUR + 10 * MINUTE + 11_000 + HOUR });
  });

  it('deletes, in batches, the rows of events that occurred and were handled before the horizon, and nothing else', async () => {
    const horizon = HORIZON;
    const gone = await rows(12_000, horizon + 10 * MINUTE, horizon + 10 * MINUTE); // more than two batches
    const recent = await rows(50, 10 * MINUTE, 10 * MINUTE);
    const justInside = await rows(50, horizon - 10 * MINUTE, horizon - 10 * MINUTE);
    const replayedLately = await rows(50, horizon + HOUR, 10 * MINUTE); // an old event handled again after an offset reset
    // Written before ids were time-ordered: its random id says nothing of its age, so it stays.
    const legacy = await rows(1, horizon + HOUR, horizon + HOUR, () => `ffffffff-${randomUUID().slice(9)}`);

    expect(await pruner(['two-hours', 'one-hour']).pruneOnce()).toBe(12_000);

    const left = await remaining();
    expect(gone.filter((id) => left.has(id))).toEqual([]);
    expect([...recent, ...justInside, ...replayedLately, ...legacy].filter((id) => !left.has(id))).toEqual([]);
    expect(left.size).toBe(151);
  });

  it.each([
    ['one of the topics keeps events forever (retention.ms=-1)', ['two-hours', 'forever'], 'forever keeps events forever'],
    ['a topic is compacted (its last event per key stays whatever the retention)', ['two-hours', 'compacted'], 'compacted keeps events forever'],
    ['a topic keeps events for longer than the epoch is old (retention.ms = Long.MAX_VALUE)', ['long-max'], 'longer than the epoch is old'],
  ])('keeps every row when %s', async (_case, consumed, why) => {
    await rows(100, 400 * 24 * HOUR, 400 * 24 * HOUR);
    const p = pruner(consumed);
    expect(await p.horizon()).toEqual({ keepAll: expect.stringContaining(why) });
    expect(await p.pruneOnce()).toBe(0);
    expect((await remaining()).size).toBe(100);
  });

  it("keeps every row when the topics' retention cannot be read (a topic the broker does not know)", async () => {
    await rows(100, 400 * 24 * HOUR, 400 * 24 * HOUR);
    const p = pruner(['two-hours', `missing-${randomUUID()}`]);
    expect(await p.horizon()).toEqual({ keepAll: expect.stringContaining('could not be read') });
    expect(await p.pruneOnce()).toBe(0);
    expect((await remaining()).size).toBe(100);
  });

  it('keeps every row of a module whose consumer does not run in this process', async () => {
    await rows(10, 400 * 24 * HOUR, 400 * 24 * HOUR);
    expect(await pruner(undefined).pruneOnce()).toBe(0);
    expect((await remaining()).size).toBe(10);
  });

  it('stops within a bound while a sweep waits for a broker that never answers (simulated: a retention lookup that never settles)', async () => {
    await rows(10, 400 * 24 * HOUR, 400 * 24 * HOUR);
    const hanging = new InboxPruner(
      ds,
      { topics: () => ({ consumed: [topic('two-hours')], deadLetter: topic('two-hours'), redrive: topic('two-hours') }), retention: () => new Promise(() => undefined) },
      { module: 'warehouse', schema: 'pruned', intervalMs: 0, retryDelaysMs: [] },
    );
    void hanging.pruneOnce();
    const started = Date.now();
    await hanging.stop();
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await remaining()).size).toBe(10);
  });

  it('uses INBOX_RETENTION_MS when set, even below what the topics allow', async () => {
    const old = await rows(20, 2 * HOUR, 2 * HOUR);
    const fresh = await rows(20, 30 * MINUTE, 30 * MINUTE);
    expect(await pruner(['forever'], { retentionMs: HOUR }).pruneOnce()).toBe(20);
    const left = await remaining();
    expect(old.some((id) => left.has(id))).toBe(false);
    expect(fresh.every((id) => left.has(id))).toBe(true);
  });
});

describe('inbox pruner in the app: every module prunes its own inbox on its interval', () => {
  let stack: TestStack;
  let app: TestApp;
  const logs: string[] = [];

  beforeAll(async () => {
    stack = await createTestStack('prune-app');
    app = await startTestApp(stack, { INBOX_RETENTION_MS: '1000', INBOX_PRUNE_INTERVAL_MS: '500' }, { logStream: collectLogLines(logs) });
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  const inboxRows = async () =>
    Object.fromEntries(
      await Promise.all(
        ['orders', 'warehouse', 'email', 'analytics'].map(async (schema) => {
          const [{ n }] = await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM ${schema}.inbox`);
          return [schema, n] as const;
        }),
      ),
    );

  it("empties each module's inbox once its events are a second old, and says the setting is shorter than the topics allow", async () => {
    await app.http.post('/products').set(app.admin).send({ sku: 'MUG', name: 'Mug', priceCents: 1200, stock: 5 }).expect(201);
    await expectEventually(async () => expect(await query(stack.databaseUrl, `SELECT 1 FROM orders.catalogue WHERE sku = 'MUG'`)).toHaveLength(1));
    const placed = await app.http.post('/orders').send({ customerEmail: 'ada@example.com', items: [{ sku: 'MUG', quantity: 1 }] }).expect(201);
    await expectEventually(async () => {
      const order = await app.http.get(`/orders/${placed.body.id}`).expect(200);
      expect(order.body.status).toBe('CONFIRMED');
      const [{ n }] = await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM email.sent_mails`);
      expect(n).toBeGreaterThanOrEqual(2); // placed and confirmed
      const facts = await query(stack.databaseUrl, `SELECT 1 FROM analytics.order_facts WHERE order_id = $1 AND placed_at IS NOT NULL AND reserved_at IS NOT NULL AND confirmed_at IS NOT NULL`, [placed.body.id]);
      expect(facts).toHaveLength(1);
    }, 30_000);
    await expectEventually(async () => expect(await inboxRows()).toEqual({ orders: 0, warehouse: 0, email: 0, analytics: 0 }), 15_000);
    // The local broker keeps events 7 days (scripts/kafka/kafka.sh): the horizon read from it is longer.
    expect(logs.filter((l) => l.includes('INBOX_RETENTION_MS=1000 is shorter than the topics allow')).length).toBeGreaterThanOrEqual(4);
  });
});

describe("inbox pruner in the app: the horizon comes from the module's own topics, DLQ and redrive topic included", () => {
  let stack: TestStack;
  let app: TestApp;
  let admin: Admin;

  beforeAll(async () => {
    stack = await createTestStack('prune-wiring');
    app = await startTestApp(stack, { MODULES: 'email' });
    admin = testKafka(stack.brokers).admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
    await app?.close();
    await stack?.drop();
  });

  it("reads the email group's topics from the broker, and lengthens the horizon when its DLQ keeps events longer", async () => {
    const pruner = app.app.get(InboxPruner, { strict: false }); // the one module of this process
    const WEEK = 7 * 24 * HOUR; // the local broker: retention and segments of 7 days (scripts/kafka/kafka.sh)
    // A dead letter redriven on the DLQ's last day, then kept by email.retry.1: two weeks each.
    expect(await pruner.horizon()).toEqual({ keepMs: 4 * WEEK + 11_000 + HOUR });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: `${stack.prefix}email.dlq`, configEntries: [{ name: 'retention.ms', value: String(30 * 24 * HOUR) }] }],
    });
    await expectEventually(async () => expect(await pruner.horizon()).toEqual({ keepMs: 30 * 24 * HOUR + WEEK + 2 * WEEK + 11_000 + HOUR }));
  });
});
