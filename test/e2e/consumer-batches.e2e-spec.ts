import { Admin, Kafka } from 'kafkajs';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { EventEnvelope, OrderConfirmed, OrderPlaced, OrderPlacedPayload } from '../../src/contracts';
import { Environment } from '../../src/platform/config/environment';
import { Cause } from '../../src/platform/kafka/cause';
import { Inbox } from '../../src/platform/kafka/inbox';
import { KafkaNaming } from '../../src/platform/kafka/kafka-naming';
import { KafkaProducer } from '../../src/platform/kafka/kafka-producer';
import { ModuleKafkaServer } from '../../src/platform/kafka/module-kafka.server';
import { event, Outbox } from '../../src/platform/kafka/outbox';
import { TopicProvisioner } from '../../src/platform/kafka/topic-provisioner';
import { noopObserver, TransportObserver } from '../../src/platform/kafka/transport-observer';
import { expectEventually } from '../support/eventually';
import { envelopeOf, placedEnvelope, publish, readTopics, testKafka } from '../support/kafka';
import { createTestStack, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

type Placed = EventEnvelope<OrderPlacedPayload>;

/**
 * The transport's shared consumer transactions (KAFKA_BATCH_MAX_EVENTS), against a real broker and
 * Postgres: a handler whose effect goes through `Inbox.once` records the transaction id it ran in,
 * so the tests see how events were grouped, and what survives a failure inside a run.
 */
describe('consumer runs: consecutive events share one transaction, failures fall back to one each', () => {
  let stack: TestStack;
  let kafka: Kafka;
  let admin: Admin;
  let ds: DataSource;
  let inbox: Inbox;
  let outbox: Outbox;
  /** Another few connections, for looking at what a run committed (one per check burst 100 at once). */
  let observers: Pool;
  const servers: ModuleKafkaServer[] = [];

  beforeAll(async () => {
    stack = await createTestStack('batches');
    kafka = testKafka(stack.brokers);
    admin = kafka.admin();
    await admin.connect();
    ds = new DataSource({ type: 'postgres', url: stack.databaseUrl, extra: { max: 6 } });
    await ds.initialize();
    await ds.query(`CREATE SCHEMA b`);
    await ds.query(`CREATE TABLE b.inbox (event_id uuid, handler text, type text, correlation_id text, PRIMARY KEY (event_id, handler))`);
    await ds.query(`CREATE TABLE b.effects (event_id uuid PRIMARY KEY, run text NOT NULL, tx bigint NOT NULL DEFAULT txid_current(), key text, type text)`);
    await ds.query(`CREATE TABLE b.locks (id int PRIMARY KEY)`);
    await ds.query(`CREATE TABLE b.outbox (id bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, topic text NOT NULL, key text NOT NULL, envelope jsonb NOT NULL)`);
    await ds.query(`INSERT INTO b.locks VALUES (1)`);
    inbox = new Inbox('b', ds);
    outbox = new Outbox('b', 'email');
    observers = new Pool({ connectionString: stack.databaseUrl, max: 3 });
    // The suite's end drops the database WITH (FORCE): a connection still idle then is cut, and a pool
    // without a listener turns that into an unhandled 'error' event (seen once in CI).
    observers.on('error', () => undefined);
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await admin?.disconnect();
    await observers?.end();
    await ds?.destroy();
    await stack?.drop();
  });

  interface Calls {
    /** Handler calls per event id (a rolled-back run calls its events again). */
    attempts: Map<string, number>;
    /** afterCommit calls per event id, and whether the effect row was visible to another connection then. */
    committed: Map<string, boolean[]>;
    fallbacks: string[];
    /** Events per committed run, as reported to the observer (kafka_run_events). */
    runs: number[];
    /** Event ids in the order the handler was first called with them. */
    order: string[];
    /** Handler calls in progress now, and the most at once. */
    active: number;
    maxActive: number;
  }

  /** One consumer group on its own topic prefix; `fail` decides, per call, whether the effect throws. */
  async function consume(
    run: string,
    batchMaxEvents: number,
    behaviour: {
      fail?: (e: Placed, attempt: number) => boolean;
      lock?: (e: Placed) => boolean;
      slowMs?: number;
      partitions?: number;
      /** Streams of runs per topic (KAFKA_PARTITIONS_CONCURRENCY); 1 unless a test says. */
      concurrency?: number;
      maxMs?: number;
      /** Also append an event to the outbox (the received one again, with its order id as key). */
      publish?: boolean;
      /** Also consume order.confirmed, with the same effect; runs may mix the two topics (runsMixTopics). */
      confirmed?: boolean;
      mixTopics?: boolean;
      /** KAFKA_COMMIT_INTERVAL_MS; the app's default unless a test says. */
      commitIntervalMs?: number;
    } = {},
  ): Promise<{ calls: Calls; topic: string; naming: KafkaNaming }> {
    const calls: Calls = { attempts: new Map(), committed: new Map(), fallbacks: [], runs: [], order: [], active: 0, maxActive: 0 };
    const prefix = `${stack.prefix}${run}.`;
    const naming = new KafkaNaming(prefix, prefix);
    const values: Record<string, unknown> = {
      KAFKA_BROKERS: stack.brokers,
      KAFKA_CLIENT_ID: `batches-${run}`,
      KAFKA_TOPIC_PARTITIONS: behaviour.partitions ?? 1,
      KAFKA_REPLICATION_FACTOR: 1,
    };
    const config = { get: (k: string) => values[k] } as never;
    const observer: TransportObserver = {
      ...noopObserver,
      batchFallback: (_m, stage) => calls.fallbacks.push(stage),
      runCommitted: (_m, events) => calls.runs.push(events),
    };
    const server = new ModuleKafkaServer({
      module: 'email',
      kafka: testKafka(stack.brokers),
      naming,
      producer: new KafkaProducer(config),
      topics: new TopicProvisioner(config, naming),
      partitionsConsumedConcurrently: behaviour.concurrency ?? 1,
      retries: 2,
      retryBackoffMs: 20,
      retryDelaysMs: [200],
      batchMaxEvents,
      batchMaxMs: behaviour.maxMs ?? 100,
      batchLockTimeoutMs: 100,
      commitIntervalMs: behaviour.commitIntervalMs ?? new Environment().KAFKA_COMMIT_INTERVAL_MS,
      runsMixTopics: behaviour.mixTopics,
      observer,
    });
    const handler = async (e: Placed) => {
      const attempt = (calls.attempts.get(e.eventId) ?? 0) + 1;
      calls.attempts.set(e.eventId, attempt);
      if (attempt === 1) calls.order.push(e.eventId);
      calls.maxActive = Math.max(calls.maxActive, ++calls.active);
      try {
        await inbox.once(
          e,
          'test',
          async (m) => {
            if (behaviour.lock?.(e)) await m.query(`SELECT id FROM b.locks WHERE id = 1 FOR UPDATE`);
            if (behaviour.slowMs) await m.query(`SELECT pg_sleep($1)`, [behaviour.slowMs / 1000]);
            await m.query(`INSERT INTO b.effects (event_id, run, key, type) VALUES ($1, $2, $3, $4)`, [e.eventId, run, e.key, e.type]);
            if (behaviour.publish) await outbox.add(m, Cause.fromEvent(e), event(OrderPlaced, e.payload));
            if (behaviour.fail?.(e, attempt)) throw new Error(`injected failure of ${e.eventId}`);
          },
          () => {
            const seen = calls.committed.get(e.eventId) ?? [];
            calls.committed.set(e.eventId, seen);
            void observers.query(`SELECT 1 FROM b.effects WHERE event_id = $1`, [e.eventId]).then((r) => seen.push(r.rowCount === 1));
          },
        );
      } finally {
        calls.active--;
      }
    };
    server.addHandler(OrderPlaced.type, handler, true, { module: 'email' });
    if (behaviour.confirmed) server.addHandler(OrderConfirmed.type, handler, true, { module: 'email' });
    servers.push(server);
    await new Promise<void>((resolve, reject) => server.listen((err?: unknown) => (err ? reject(err as Error) : resolve())));
    await expectEventually(() => expect(server.consumerState).toBe('joined'), 30_000); // its topics exist by then
    return { calls, topic: naming.topic(OrderPlaced.topic), naming };
  }

  function events(n: number): Placed[] {
    return Array.from({ length: n }, (_, i) => placedEnvelope({ customerEmail: `c${i}@example.com`, sku: 'SKU-1' }));
  }

  /** Everything is on one partition (one key), so the order and the runs are the test's to decide. */
  const send = (topic: string, list: (Placed | string)[]) => publish(kafka, topic, list.map((value) => ({ key: 'one-partition', value })));

  /** Writes `list` to the run's topic before its consumer starts (one partition). */
  async function backlog(run: string, list: (Placed | string)[]): Promise<void> {
    const topic = `${stack.prefix}${run}.${OrderPlaced.topic}`;
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
    await send(topic, list);
  }

  async function effectsOf(run: string): Promise<{ event_id: string; tx: string }[]> {
    return query(stack.databaseUrl, `SELECT event_id, tx::text AS tx FROM b.effects WHERE run = $1`, [run]);
  }

  async function waitForEffects(run: string, n: number, timeoutMs = 30_000) {
    return expectEventually(async () => {
      const rows = await effectsOf(run);
      expect(rows).toHaveLength(n);
      return rows;
    }, timeoutMs, 100);
  }

  it('gives a backlog of events a handful of transactions, each event applied and announced once, after its commit', async () => {
    const list = events(300);
    await backlog('shared', list); // the backlog is there before the consumer starts
    // No age cap: how the events are grouped must not depend on how fast this machine is today.
    const { calls } = await consume('shared', 100, { maxMs: 60_000 });
    const rows = await waitForEffects('shared', list.length);

    const transactions = new Set(rows.map((r) => r.tx));
    expect(transactions.size).toBeGreaterThanOrEqual(3); // at most 100 events per transaction
    expect(transactions.size).toBeLessThanOrEqual(list.length / 10);
    // The observer hears of each run with its size (the bench's and the operator's view of grouping).
    expect(calls.runs.reduce((a, b) => a + b, 0)).toBe(list.length);
    expect(calls.runs).toHaveLength(transactions.size);
    await expectEventually(() => expect(calls.committed.size).toBe(list.length));
    await expectEventually(() => {
      for (const e of list) expect(calls.committed.get(e.eventId)).toEqual([true]);
    });
    expect(calls.fallbacks).toEqual([]);
  });

  /** A backlog of `perPartition` events on each of `partitions` partitions, written before the run's consumer starts. */
  async function partitionedBacklog(run: string, partitions: number, perPartition: number) {
    const list = events(partitions * perPartition);
    const partitionOf = new Map(list.map((e, i) => [e.eventId, i % partitions]));
    const topic = `${stack.prefix}${run}.${OrderPlaced.topic}`;
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] });
    await publish(kafka, topic, list.map((e) => ({ key: e.key, value: e, partition: partitionOf.get(e.eventId) })));
    return { list, partitionOf, topic };
  }

  /** Each partition's events were first handled in the order they were written, and all its offsets are committed. */
  async function expectPartitionsInOrderAndCommitted(run: { list: Placed[]; partitionOf: Map<string, number>; topic: string }, calls: Calls, naming: KafkaNaming) {
    const partitions = new Set(run.partitionOf.values()).size;
    for (let p = 0; p < partitions; p++) {
      const written = run.list.filter((e) => run.partitionOf.get(e.eventId) === p).map((e) => e.eventId);
      expect(calls.order.filter((id) => run.partitionOf.get(id) === p)).toEqual(written);
    }
    await expectEventually(async () => {
      const [{ partitions: offsets }] = await admin.fetchOffsets({ groupId: naming.group('email'), topics: [run.topic] });
      expect(offsets.map((o) => o.offset)).toEqual(Array.from({ length: partitions }, () => String(run.list.length / partitions)));
    });
  }

  it('shares runs between the partitions of one fetch: fewer transactions than partitions, each partition in order, every offset committed', async () => {
    const partitions = 4;
    const backlogged = await partitionedBacklog('gathered', partitions, 40);
    // The backlog is there before the consumer starts, so its first fetch holds every partition:
    // two streams of two partitions each.
    const { calls, naming } = await consume('gathered', 100, { partitions, concurrency: 2, maxMs: 60_000 });
    const rows = await waitForEffects('gathered', backlogged.list.length);

    expect(new Set(rows.map((r) => r.event_id)).size).toBe(backlogged.list.length);
    const transactions = new Set(rows.map((r) => r.tx));
    // A run per partition would take at least `partitions` transactions; two streams of 80 events, 2.
    expect(transactions.size).toBeLessThan(partitions);
    const partitionsOfTx = new Map<string, Set<number>>();
    for (const r of rows) partitionsOfTx.set(r.tx, (partitionsOfTx.get(r.tx) ?? new Set<number>()).add(backlogged.partitionOf.get(r.event_id)!));
    expect(Math.max(...[...partitionsOfTx.values()].map((p) => p.size))).toBeGreaterThan(1);
    await expectPartitionsInOrderAndCommitted(backlogged, calls, naming);
    expect(calls.fallbacks).toEqual([]);
  });

  it('a failure in a run that spans partitions rolls it back, handles its events one by one and commits every partition past them', async () => {
    const partitions = 3;
    const backlogged = await partitionedBacklog('gathered-flaky', partitions, 30);
    const flaky = backlogged.list[50];
    const { calls, naming } = await consume('gathered-flaky', 100, {
      partitions,
      concurrency: 2,
      maxMs: 60_000,
      fail: (e, attempt) => e.eventId === flaky.eventId && attempt === 1,
    });
    const rows = await waitForEffects('gathered-flaky', backlogged.list.length);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(backlogged.list.length);
    expect(calls.fallbacks).toEqual(['effect']);
    expect(calls.attempts.get(flaky.eventId)).toBe(2);
    await expectPartitionsInOrderAndCommitted(backlogged, calls, naming);
    await expectEventually(() => {
      for (const e of backlogged.list) expect(calls.committed.get(e.eventId)).toEqual([true]);
    });
  });

  /** Each of `orders` placed and then confirmed: its two events on the same partition number of the two topics, written before the consumer starts. */
  async function twoTopicBacklog(run: string, partitions: number, orders: number) {
    const naming = new KafkaNaming(`${stack.prefix}${run}.`, `${stack.prefix}${run}.`);
    const topics = [naming.topic(OrderPlaced.topic), naming.topic(OrderConfirmed.topic)];
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
    const placed = events(orders);
    const confirmed = placed.map((e) => envelopeOf(OrderConfirmed, { ...e.payload, confirmedAt: new Date().toISOString() }));
    await publish(kafka, topics[0], placed.map((e, i) => ({ key: e.key, value: e, partition: i % partitions })));
    await publish(kafka, topics[1], confirmed.map((e, i) => ({ key: e.key, value: e, partition: i % partitions })));
    return { placed, topics };
  }

  /** The transactions of a run's effects: per order key, the transactions and event types it was applied in. */
  async function transactionsByKey(run: string): Promise<Map<string, { txs: Set<string>; types: Set<string> }>> {
    const rows = await query<{ key: string; tx: string; type: string }>(stack.databaseUrl, `SELECT key, tx::text AS tx, type FROM b.effects WHERE run = $1`, [run]);
    const byKey = new Map<string, { txs: Set<string>; types: Set<string> }>();
    for (const r of rows) {
      const k = byKey.get(r.key) ?? { txs: new Set(), types: new Set() };
      byKey.set(r.key, k.txs.add(r.tx) && k.types.add(r.type) && k);
    }
    return byKey;
  }

  it('with runsMixTopics, one order’s events of two topics share a run (streams by partition number) and both topics are committed', async () => {
    const partitions = 2;
    const { placed, topics } = await twoTopicBacklog('mixed', partitions, 40);
    const { calls, naming } = await consume('mixed', 100, { partitions, concurrency: 2, maxMs: 60_000, confirmed: true, mixTopics: true });
    await waitForEffects('mixed', placed.length * 2);
    const byKey = await transactionsByKey('mixed');
    for (const e of placed) expect(byKey.get(e.key)).toEqual({ txs: expect.any(Set), types: new Set(['order.placed', 'order.confirmed']) });
    // Each order's two events in one transaction: no two runs of the module ever held the same order.
    for (const e of placed) expect(byKey.get(e.key)!.txs.size).toBe(1);
    expect(calls.fallbacks).toEqual([]);
    await expectEventually(async () => {
      for (const topic of topics) {
        const [{ partitions: offsets }] = await admin.fetchOffsets({ groupId: naming.group('email'), topics: [topic] });
        expect(offsets.map((o) => o.offset)).toEqual(Array.from({ length: partitions }, () => String(placed.length / partitions)));
      }
    });
  });

  it('without runsMixTopics a run holds one topic: one order’s two events are always in two transactions', async () => {
    const { placed } = await twoTopicBacklog('unmixed', 2, 40);
    const { calls } = await consume('unmixed', 100, { partitions: 2, concurrency: 2, maxMs: 60_000, confirmed: true });
    await waitForEffects('unmixed', placed.length * 2);
    const byKey = await transactionsByKey('unmixed');
    for (const e of placed) expect(byKey.get(e.key)!.txs.size).toBe(2);
    expect(calls.fallbacks).toEqual([]);
  });

  /** The group's committed offset of each partition of `topic` (-1: none). */
  async function committedOffsets(naming: KafkaNaming, topic: string): Promise<string[]> {
    const [{ partitions }] = await admin.fetchOffsets({ groupId: naming.group('email'), topics: [topic] });
    return partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
  }

  it('commits offsets in the background (KAFKA_COMMIT_INTERVAL_MS), and close() commits what was handled', async () => {
    const list = events(30);
    await backlog('deferred', list);
    // An interval longer than the test: nothing but close() commits.
    const { topic, naming } = await consume('deferred', 10, { commitIntervalMs: 600_000 });
    await waitForEffects('deferred', list.length);
    expect(await committedOffsets(naming, topic)).toEqual(['-1']);
    await servers.at(-1)!.close();
    expect(await committedOffsets(naming, topic)).toEqual([String(list.length)]);
  });

  it('commits at once past an event it moved to the DLQ or a retry topic, whatever the interval: the inbox cannot absorb a second move', async () => {
    const [failing, fine] = events(2);
    await backlog('moved', ['not json at all', failing, fine]);
    // An interval longer than the test: only a move commits before close().
    const { topic, naming } = await consume('moved', 10, { commitIntervalMs: 600_000, fail: (e) => e.eventId === failing.eventId });
    await waitForEffects('moved', 1);
    // The poison at 0 parked, the failing event at 1 sent to retry.1: committed up to it, the rest waits for the interval.
    await expectEventually(async () => expect(await committedOffsets(naming, topic)).toEqual(['2']), 10_000);
    // On the retry topic it fails again and parks: committed there too.
    await expectEventually(async () => {
      const retried = await committedOffsets(naming, naming.retryTopic('email', 1));
      expect(retried.filter((o) => o !== '-1')).toEqual(['1']); // on whichever partition its key went to
    }, 10_000);
    const letters = await readTopics(kafka, [naming.deadLetterTopic('email')], (m) => m.length >= 2);
    expect(letters.map((m) => m.message.headers?.['dlq-source-offset']?.toString()).sort()).toEqual(['0', '1']);
  });

  it('close() lets the run in flight finish and commits its offsets: exactly the handled events, none lost or left uncommitted', async () => {
    const list = events(40);
    await backlog('closing', list);
    // Slow effects, so close() comes while a run is in flight.
    const { topic, naming } = await consume('closing', 5, { slowMs: 100, commitIntervalMs: 600_000 });
    await expectEventually(async () => expect((await effectsOf('closing')).length).toBeGreaterThan(0), 30_000, 20);
    await servers.at(-1)!.close();
    const handled = (await effectsOf('closing')).length;
    expect(handled).toBeLessThan(list.length); // it stopped before the end of the backlog…
    expect(await committedOffsets(naming, topic)).toEqual([String(handled)]); // …and committed exactly what it handled
  });

  it('with KAFKA_BATCH_MAX_EVENTS=1 every event has its own transaction', async () => {
    const list = events(40);
    const { calls, topic } = await consume('single', 1);
    await send(topic, list);
    const rows = await waitForEffects('single', list.length);
    expect(new Set(rows.map((r) => r.tx)).size).toBe(list.length);
    expect(calls.fallbacks).toEqual([]);
  });

  it('with KAFKA_BATCH_MAX_EVENTS=1 handles no more partitions at once than KAFKA_PARTITIONS_CONCURRENCY', async () => {
    const list = events(30);
    const topic = `${stack.prefix}gated.${OrderPlaced.topic}`;
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
    await publish(kafka, topic, list.map((value, i) => ({ key: value.key, value, partition: i % 3 })));
    // Slow effects, so the three partitions' batches of a fetch overlap unless something holds them apart.
    const { calls } = await consume('gated', 1, { partitions: 3, concurrency: 1, slowMs: 30 });
    await waitForEffects('gated', list.length);
    expect(calls.maxActive).toBe(1);
  });

  it('rolls a run back when one effect fails, applies every event once and announces none of the rolled-back work', async () => {
    const list = events(60);
    const flaky = list[37];
    await backlog('flaky', list);
    const { calls } = await consume('flaky', 100, { fail: (e, attempt) => e.eventId === flaky.eventId && attempt === 1 });
    const rows = await waitForEffects('flaky', list.length);

    expect(new Set(rows.map((r) => r.event_id)).size).toBe(list.length);
    expect(calls.fallbacks).toEqual(['effect']);
    // The run that held the failure (from the last commit up to it) was rolled back and its events
    // called again, one transaction each; runs before it and after it were not touched.
    const again = list.map((e, i) => [i, calls.attempts.get(e.eventId)] as const).filter(([, n]) => n === 2).map(([i]) => i);
    expect(again.at(-1)).toBe(37);
    expect(again).toEqual(Array.from({ length: again.length }, (_, k) => 38 - again.length + k));
    for (const e of list) expect([1, 2]).toContain(calls.attempts.get(e.eventId));
    const txOf = new Map(rows.map((r) => [r.event_id, r.tx]));
    expect(new Set(again.map((i) => txOf.get(list[i].eventId))).size).toBe(again.length);
    expect(new Set(list.slice(38).map((e) => txOf.get(e.eventId))).size).toBeLessThan(22); // shared runs again
    await expectEventually(() => {
      for (const e of list) expect(calls.committed.get(e.eventId)).toEqual([true]);
    });
  });

  it('writes the outbox rows of a run with its commit, in the order its events added them, and none of a rolled-back run', async () => {
    const list = events(120);
    const flaky = list[70];
    await backlog('publishing', list);
    const { calls } = await consume('publishing', 100, { maxMs: 60_000, publish: true, fail: (e, attempt) => e.eventId === flaky.eventId && attempt === 1 });
    await waitForEffects('publishing', list.length);
    const rows = await query<{ key: string; tx: string }>(stack.databaseUrl, `SELECT key, xmin::text AS tx FROM b.outbox ORDER BY id`);
    expect(rows.map((r) => r.key)).toEqual(list.map((e) => e.payload.orderId)); // one row per event, in order, none twice
    expect(calls.fallbacks).toEqual(['effect']);
    const effectTx = new Map((await effectsOf('publishing')).map((r) => [r.event_id, r.tx]));
    // Each row was written by the transaction that applied its event's effect.
    const byKey = new Map(list.map((e) => [e.payload.orderId, effectTx.get(e.eventId)]));
    for (const r of rows) expect(String(BigInt(byKey.get(r.key)!) % 2n ** 32n)).toBe(r.tx);
  });

  it('skips the events of a run that are already in the inbox (a redelivery) without falling back, and applies the rest once', async () => {
    const list = events(50);
    const done = list.filter((_, i) => i % 3 === 0);
    await query(
      stack.databaseUrl,
      `INSERT INTO b.inbox (event_id, handler, type, correlation_id) SELECT id, 'test', 'order.placed', 'c' FROM unnest($1::uuid[]) AS id`,
      [done.map((e) => e.eventId)],
    );
    await backlog('redelivered', [...list, list[1], list[2]]); // and two duplicates inside the backlog
    const { calls } = await consume('redelivered', 100, { maxMs: 60_000 });
    const rows = await waitForEffects('redelivered', list.length - done.length);
    const applied = new Set(rows.map((r) => r.event_id));
    for (const e of done) expect(applied.has(e.eventId)).toBe(false);
    expect(new Set(rows.map((r) => r.tx)).size).toBeLessThanOrEqual(3);
    await expectEventually(() => expect(calls.attempts.get(list[2].eventId)).toBe(2)); // the duplicate was read, and skipped
    expect(calls.fallbacks).toEqual([]);
    const inboxRows = await query<{ n: number }>(stack.databaseUrl, `SELECT count(*)::int AS n FROM b.inbox WHERE event_id = ANY($1::uuid[])`, [
      list.map((e) => e.eventId),
    ]);
    expect(inboxRows[0].n).toBe(list.length);
  });

  it('a run whose event another consumer records first (uncommitted) gives up at its commit and skips that event one by one', async () => {
    const list = events(20);
    const taken = list[6];
    const other = new Client({ connectionString: stack.databaseUrl });
    await other.connect();
    try {
      // Another member still finishing the same event: its inbox row is written but not committed.
      await other.query('BEGIN');
      await other.query(`INSERT INTO b.inbox (event_id, handler, type, correlation_id) VALUES ($1, 'test', 'order.placed', 'c')`, [taken.eventId]);
      const { calls, topic } = await consume('raced', 100, { maxMs: 60_000 });
      await send(topic, list);
      // The run's effects ran before its claims were written; writing them waits on that row, times out, rolls back.
      await expectEventually(() => expect(calls.fallbacks).toContain('commit'), 20_000);
      expect(calls.fallbacks).not.toContain('effect');
      await other.query('COMMIT');
      const rows = await waitForEffects('raced', list.length - 1);
      expect(rows.map((r) => r.event_id)).not.toContain(taken.eventId);
      expect(new Set(rows.map((r) => r.event_id)).size).toBe(list.length - 1);
      await expectEventually(() => {
        for (const e of list) expect(calls.committed.get(e.eventId)).toEqual(e === taken ? undefined : [true]);
      });
    } finally {
      await other.end();
    }
  });

  it('parks a message that does not decode without losing or repeating the events around it, and commits past it', async () => {
    const list = events(30);
    const { calls, topic, naming } = await consume('poison', 100);
    await send(topic, [...list.slice(0, 10), '{not json', ...list.slice(10)]);
    await waitForEffects('poison', list.length);
    const parked = await readTopics(kafka, [naming.deadLetterTopic('email')], (ms) => ms.length >= 1);
    expect(parked[0].message.headers?.['dlq-error-code']?.toString()).toBe('EVENT.UNDECODABLE');
    expect(parked[0].message.headers?.['dlq-source-offset']?.toString()).toBe('10');
    for (const e of list) expect(calls.attempts.get(e.eventId)).toBe(1);
    await expectEventually(async () => {
      const [{ partitions }] = await admin.fetchOffsets({ groupId: naming.group('email'), topics: [topic] });
      expect(partitions[0].offset).toBe(String(list.length + 1));
    });
  });

  it('a lock held elsewhere makes the run give up after the lock timeout and go on one transaction per event', async () => {
    const holder = new Client({ connectionString: stack.databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM b.locks WHERE id = 1 FOR UPDATE');
      const list = events(20);
      const needsLock = new Set(list.slice(5, 8).map((e) => e.eventId));
      const { calls, topic } = await consume('locked', 100, { lock: (e) => needsLock.has(e.eventId) });
      await send(topic, list);
      // Without the lock timeout the run would simply wait for the holder; it falls back instead.
      await expectEventually(() => expect(calls.fallbacks).toContain('effect'), 20_000);
      await holder.query('COMMIT');
      const rows = await waitForEffects('locked', list.length);
      expect(new Set(rows.map((r) => r.event_id)).size).toBe(list.length);
    } finally {
      await holder.end();
    }
  });

  it('a rebalance in the middle of a run leaves no transaction open: a second member takes over and every effect lands once', async () => {
    const list = events(400);
    const slow = { slowMs: 5, partitions: 2 };
    const first = await consume('rebalance', 100, slow);
    // Keys spread over both partitions, so the second member takes one over.
    await publish(kafka, first.topic, list.map((e) => ({ key: e.key, value: e })));
    await expectEventually(async () => expect((await effectsOf('rebalance')).length).toBeGreaterThan(20));
    await consume('rebalance', 100, slow); // same group: the broker rebalances while runs are open
    const rows = await waitForEffects('rebalance', list.length, 60_000);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(list.length);
    await expectEventually(async () => {
      const open = await query<{ n: number }>(
        stack.databaseUrl,
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      );
      expect(open[0].n).toBe(0);
    }, 5_000);
  });
});
