import { ServerKafka } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { EachBatchPayload, Kafka, logLevel, Partitioners } from 'kafkajs';
import { DataSource, EntityManager } from 'typeorm';
import { EventEnvelope, OrderPlaced, OrderPlacedPayload } from '../src/contracts';
import { Environment } from '../src/platform/config/environment';
import { Inbox } from '../src/platform/kafka/inbox';
import { KafkaNaming } from '../src/platform/kafka/kafka-naming';
import { KafkaProducer } from '../src/platform/kafka/kafka-producer';
import { ModuleKafkaServer } from '../src/platform/kafka/module-kafka.server';
import { envelopeHeaders } from '../src/platform/kafka/outbox-relay';
import { TopicProvisioner } from '../src/platform/kafka/topic-provisioner';

/**
 * Consumer baselines: the same backlog of `order.placed` events drained by our transport, by a raw
 * kafkajs `eachBatch` consumer and by Nest's stock ServerKafka, each doing the same database work
 * per event (an inbox row and an effect row in one transaction, like the email module), each in
 * its own group and schema.
 */
export interface ConsumerBenchOptions {
  brokers: string;
  databaseUrl: string;
  prefix: string;
  messages: number;
  partitions: number;
  concurrency: number;
  poolSize: number;
  /** node-postgres pipeline mode on the bench's pool (the app's DATABASE_PIPELINE). */
  pipeline: boolean;
  timeoutS: number;
  /** Only the contenders with these ids (all when absent). */
  only?: Set<string>;
  /**
   * Times the contenders drain the same backlog, one after another, each time in fresh groups and
   * schemas: alternated rounds give the ratios a spread on a noisy box.
   */
  rounds: number;
  log: (line: string) => void;
}

export interface ConsumerResult {
  /** Short name of the contender; `sameWork` names the raw kafkajs one doing the same transactions. */
  id: string;
  sameWork?: string;
  /** 1-based: the round of alternated drains this result is from. */
  round: number;
  label: string;
  processed: number;
  perSec: number;
  seconds: number;
  /** CPU of this (the bench) process per event while the contender ran, join and drain included: what is JavaScript and what is waiting. */
  cpuUsPerEvent: number;
}

type Envelope = EventEnvelope<OrderPlacedPayload>;
const HANDLER = 'bench.effect';

function config(values: Record<string, unknown>) {
  return { get: (k: string) => values[k] } as never;
}

async function createTables(ds: DataSource, schema: string): Promise<void> {
  await ds.query(`CREATE SCHEMA "${schema}"`);
  await ds.query(`CREATE TABLE "${schema}".inbox (
    event_id uuid NOT NULL, handler text NOT NULL, type text NOT NULL, correlation_id text NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (event_id, handler))`);
  await ds.query(`CREATE TABLE "${schema}".effects (
    event_id uuid PRIMARY KEY, order_id uuid NOT NULL, customer_email text NOT NULL, total_cents int NOT NULL, items jsonb NOT NULL)`);
}

/** The per-event work every contender does: inbox claim and effect row in one transaction. */
function perEventEffect(ds: DataSource, schema: string): (e: Envelope) => Promise<void> {
  const inbox = new Inbox(schema, ds);
  return async (e) => {
    await inbox.once(e, HANDLER, (m) => insertEffect(m, schema, e));
  };
}

async function insertEffect(m: EntityManager, schema: string, e: Envelope): Promise<void> {
  await m.query(
    `INSERT INTO "${schema}".effects (event_id, order_id, customer_email, total_cents, items) VALUES ($1, $2, $3, $4, $5)`,
    [e.eventId, e.payload.orderId, e.payload.customerEmail, e.payload.totalCents, JSON.stringify(e.payload.items)],
  );
}

/** The same work for a whole batch: multi-row inbox insert (ON CONFLICT DO NOTHING), then the effects of the new ones. */
function batchEffect(ds: DataSource, schema: string): (events: Envelope[]) => Promise<void> {
  return (events) =>
    ds.transaction(async (m) => {
      const claimed: { event_id: string }[] = await m.query(
        `INSERT INTO "${schema}".inbox (event_id, handler, type, correlation_id)
         SELECT id, $2, t, c FROM unnest($1::uuid[], $3::text[], $4::text[]) AS x(id, t, c)
         ON CONFLICT DO NOTHING RETURNING event_id`,
        [events.map((e) => e.eventId), HANDLER, events.map((e) => e.type), events.map((e) => e.correlationId)],
      );
      const fresh = new Set(claimed.map((r) => r.event_id));
      const todo = events.filter((e) => fresh.has(e.eventId));
      if (todo.length === 0) return;
      await m.query(
        `INSERT INTO "${schema}".effects (event_id, order_id, customer_email, total_cents, items)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::jsonb[])`,
        [
          todo.map((e) => e.eventId),
          todo.map((e) => e.payload.orderId),
          todo.map((e) => e.payload.customerEmail),
          todo.map((e) => e.payload.totalCents),
          todo.map((e) => JSON.stringify(e.payload.items)),
        ],
      );
    });
}

/** Writes the backlog with a raw kafkajs producer (acks=all); returns messages per second. */
async function preload(kafka: Kafka, topic: string, n: number): Promise<number> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const started = performance.now();
  for (let sent = 0; sent < n; ) {
    const chunk = Math.min(1000, n - sent);
    const messages = Array.from({ length: chunk }, (_, i) => {
      const orderId = randomUUID();
      const eventId = randomUUID();
      const envelope: Envelope = {
        eventId,
        type: OrderPlaced.type,
        version: OrderPlaced.version,
        occurredAt: new Date().toISOString(),
        key: orderId,
        correlationId: `bench-${eventId}`,
        causationId: eventId,
        producer: 'order',
        payload: {
          orderId,
          customerEmail: `c${sent + i}@example.com`,
          items: [
            { sku: 'BENCH-001', quantity: 1, unitPriceCents: 1200 },
            { sku: 'BENCH-002', quantity: 2, unitPriceCents: 800 },
          ],
          totalCents: 2800,
          placedAt: new Date().toISOString(),
        },
      };
      return {
        key: orderId,
        value: JSON.stringify(envelope),
        headers: envelopeHeaders(envelope),
      };
    });
    await producer.send({ topic, acks: -1, messages });
    sent += chunk;
  }
  const perSec = n / ((performance.now() - started) / 1000);
  await producer.disconnect();
  return perSec;
}

/** Waits until `n` effects exist (or the timeout); the rate is taken from the inbox commit times. */
async function measure(
  ds: DataSource,
  id: string,
  round: number,
  schema: string,
  label: string,
  n: number,
  timeoutS: number,
  cpuFrom: NodeJS.CpuUsage,
  sameWork?: string,
): Promise<ConsumerResult> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const [{ count }] = await ds.query(`SELECT count(*)::int AS count FROM "${schema}".effects`);
    if (count >= n || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const [row] = await ds.query(
    `SELECT count(*)::int AS n, extract(epoch FROM max(handled_at) - min(handled_at))::float AS s FROM "${schema}".inbox`,
  );
  const seconds = Math.max(row.s ?? 0, 0.001);
  const cpu = process.cpuUsage(cpuFrom);
  const cpuUsPerEvent = row.n > 0 ? (cpu.user + cpu.system) / row.n : 0;
  return { id, round, sameWork, label, processed: row.n, perSec: row.n / seconds, seconds, cpuUsPerEvent };
}

export async function runConsumerBench(o: ConsumerBenchOptions): Promise<{ producerPerSec: number; results: ConsumerResult[] }> {
  const kafka = new Kafka({ clientId: 'bench', brokers: o.brokers.split(','), logLevel: logLevel.NOTHING });
  const naming = new KafkaNaming(o.prefix, o.prefix);
  const topic = naming.topic(OrderPlaced.topic);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: o.partitions, replicationFactor: 1 }] });
  await admin.disconnect();

  const ds = new DataSource({ type: 'postgres', url: o.databaseUrl, extra: { max: o.poolSize, pipeline: o.pipeline, application_name: 'bench:consumers' } });
  await ds.initialize();
  const producerPerSec = await preload(kafka, topic, o.messages);
  o.log(`  raw kafkajs producer wrote ${o.messages} events at ${producerPerSec.toFixed(0)}/s`);
  const results: ConsumerResult[] = [];
  const wanted = (name: string) => !o.only || o.only.has(name);
  let round = 1;
  /** A contender's own schema and group name in this round. */
  const own = (name: string) => (o.rounds > 1 ? `${name}_r${round}` : name);

  // 1. Our transport (ModuleKafkaServer: envelope + contract validation, retries, commits after
  //    effects), one transaction per event and with its default shared transaction per run.
  const ourTransport = async (name: string, batchMaxEvents: number, label: string, sameWork: string): Promise<void> => {
    if (!wanted(name)) return;
    const schema = `c_${own(name)}`;
    await createTables(ds, schema);
    const cpuFrom = process.cpuUsage();
    const env = {
      KAFKA_BROKERS: o.brokers,
      KAFKA_CLIENT_ID: 'bench',
      KAFKA_TOPIC_PARTITIONS: o.partitions,
      KAFKA_REPLICATION_FACTOR: 1,
    } satisfies Partial<Environment>;
    const groupNaming = new KafkaNaming(o.prefix, `${o.prefix}${own(name)}.`);
    const server = new ModuleKafkaServer({
      module: 'email',
      kafka: new Kafka({ clientId: `bench-${name}`, brokers: o.brokers.split(','), logLevel: logLevel.NOTHING }),
      naming: groupNaming,
      producer: new KafkaProducer(config(env)),
      topics: new TopicProvisioner(config(env), groupNaming),
      partitionsConsumedConcurrently: o.concurrency,
      retries: 2,
      retryBackoffMs: 200,
      retryDelaysMs: [1000, 10_000],
      batchMaxEvents,
      // The app's default age cap: a shorter one would cut runs short of the ≤ 100 events the raw
      // "same statements" consumer always gets, and compare different work.
      batchMaxMs: new Environment().KAFKA_BATCH_MAX_MS,
      batchLockTimeoutMs: new Environment().KAFKA_BATCH_LOCK_TIMEOUT_MS,
      // Offsets committed as the app commits them (bootstrap.ts): in the background, at most every interval.
      commitIntervalMs: new Environment().KAFKA_COMMIT_INTERVAL_MS,
    });
    const effect = perEventEffect(ds, schema);
    server.addHandler(OrderPlaced.type, (e: Envelope) => effect(e), true, { module: 'email' });
    await new Promise<void>((resolve, reject) => server.listen((err?: unknown) => (err ? reject(err as Error) : resolve())));
    results.push(await measure(ds, name, round, schema, label, o.messages, o.timeoutS, cpuFrom, sameWork));
    await server.close();
  };
  /**
   * A raw kafkajs eachBatch consumer in its own group and schema: `handle` gets the decoded events of
   * each batch, whole or in slices of `slice`, and the offset is resolved after each and committed at most every interval, like ours.
   */
  const rawConsumer = async (name: string, label: string, slice: number, handle: (schema: string) => (events: Envelope[]) => Promise<void>) => {
    if (!wanted(name)) return;
    const schema = `c_${own(name)}`;
    await createTables(ds, schema);
    const cpuFrom = process.cpuUsage();
    const run = handle(schema);
    const consumer = kafka.consumer({ groupId: `${o.prefix}${own(name)}`, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      // The commit policy ours has (KAFKA_COMMIT_INTERVAL_MS): resolved after each slice, committed at most every interval.
      autoCommit: true,
      autoCommitInterval: new Environment().KAFKA_COMMIT_INTERVAL_MS,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.concurrency,
      eachBatch: async ({ batch, heartbeat, resolveOffset, commitOffsetsIfNecessary }: EachBatchPayload) => {
        for (let i = 0; i < batch.messages.length; i += slice) {
          const part = batch.messages.slice(i, i + slice);
          await run(part.map((m) => JSON.parse(m.value!.toString('utf8')) as Envelope));
          resolveOffset(part.at(-1)!.offset);
          await commitOffsetsIfNecessary();
          await heartbeat();
        }
      },
    });
    results.push(await measure(ds, name, round, schema, label, o.messages, o.timeoutS, cpuFrom));
    await consumer.disconnect();
  };

  for (; round <= o.rounds; round++) {
    await ourTransport('transport', 1, 'our transport, one tx per event (KAFKA_BATCH_MAX_EVENTS=1)', 'raw');

    // 2. Raw kafkajs eachBatch, the same per-event transaction, offsets committed at most every interval.
    await rawConsumer('raw', 'raw kafkajs eachBatch, one tx per event', Infinity, (schema) => {
      const effect = perEventEffect(ds, schema);
      return async (events) => {
        for (const e of events) await effect(e);
      };
    });

    await ourTransport('transport_runs', 100, 'our transport, shared tx per run of ≤100 events (default)', 'raw_runs');

    // 2b. Raw kafkajs eachBatch, the statements our runs send, one transaction per ≤100 events: one
    //     inbox lookup for the run, the effect per event, one multi-row inbox insert at the end.
    await rawConsumer('raw_runs', 'raw kafkajs eachBatch, our statements (inbox read + written once per run), one tx per ≤100 events', 100, (schema) => (run) =>
      ds.transaction(async (m) => {
        const known: { id: string }[] = await m.query(`SELECT event_id::text AS id FROM "${schema}".inbox WHERE event_id = ANY($1::uuid[]) AND handler = $2`, [
          run.map((e) => e.eventId),
          HANDLER,
        ]);
        const seen = new Set(known.map((r) => r.id));
        const fresh = run.filter((e) => !seen.has(e.eventId));
        for (const e of fresh) await insertEffect(m, schema, e);
        await m.query(
          `INSERT INTO "${schema}".inbox (event_id, handler, type, correlation_id)
           SELECT id, $2, t, c FROM unnest($1::uuid[], $3::text[], $4::text[]) AS x(id, t, c) ON CONFLICT DO NOTHING`,
          [fresh.map((e) => e.eventId), HANDLER, fresh.map((e) => e.type), fresh.map((e) => e.correlationId)],
        );
      }),
    );

    // 2c. The same with an inbox INSERT per event (our runs before the inbox was batched): what that lever gives.
    await rawConsumer('raw_runs_claims', 'raw kafkajs eachBatch, inbox INSERT per event, one tx per ≤100 events', 100, (schema) => {
      const inbox = new Inbox(schema, ds);
      return (run) =>
        ds.transaction(async (m) => {
          for (const e of run) if (await inbox.claim(m, e, HANDLER)) await insertEffect(m, schema, e);
        });
    });

    // 3. Raw kafkajs eachBatch with the batch's effects in one transaction (the batching lever's ceiling).
    await rawConsumer('raw_batch', 'raw kafkajs eachBatch, multi-row statements, one tx per batch (ceiling)', Infinity, (schema) => batchEffect(ds, schema));

    // 4. Nest's stock ServerKafka: eachMessage, one event at a time, auto-commit.
    if (wanted('nest')) {
      const schema = `c_${own('nest')}`;
      await createTables(ds, schema);
      const cpuFrom = process.cpuUsage();
      const effect = perEventEffect(ds, schema);
      const server = new ServerKafka({
        client: { clientId: 'bench-nest', brokers: o.brokers.split(','), logLevel: logLevel.NOTHING },
        consumer: { groupId: `${o.prefix}${own('nest')}` },
        subscribe: { fromBeginning: true },
        // The same partitions at once as the other contenders: the comparison is of the handling, not of concurrency.
        run: { partitionsConsumedConcurrently: o.concurrency },
      });
      server.addHandler(topic, (e: Envelope) => effect(e), true);
      await new Promise<void>((resolve, reject) => server.listen((err?: unknown) => (err ? reject(err as Error) : resolve())));
      results.push(
        await measure(ds, 'nest', round, schema, `Nest stock ServerKafka (eachMessage, one at a time per partition, ${o.concurrency} partitions at once)`, o.messages, o.timeoutS, cpuFrom),
      );
      await server.close();
    }
  }

  await ds.destroy();
  return { producerPerSec, results };
}
