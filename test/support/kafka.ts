import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Admin, CompressionTypes, Kafka, KafkaMessage, logLevel, Partitioners, RecordMetadata } from 'kafkajs';
import { EventDefinition, EventEnvelope, OrderPlaced, OrderPlacedPayload } from '../../src/contracts';
import { envelopeHeaders } from '../../src/platform/kafka/outbox-relay';

export function testKafka(brokers: string): Kafka {
  return new Kafka({ clientId: 'e2e-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
}

/** Sum of the latest offsets of a topic: how many messages were ever written to it. */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

/** Creates a topic (waiting for its leaders) on a connection of its own. */
export async function createTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** An envelope as a producer module would write it (for publishing straight to Kafka in tests). */
export function envelopeOf<T>(definition: EventDefinition<string, T>, payload: T, overrides: Partial<EventEnvelope<T>> = {}): EventEnvelope<T> {
  const id = randomUUID();
  return {
    eventId: id,
    type: definition.type,
    version: definition.version,
    occurredAt: new Date().toISOString(),
    key: definition.key(payload),
    correlationId: `test-${id}`,
    causationId: id,
    producer: definition.producer,
    payload,
    ...overrides,
  };
}

/** An `order.placed` payload of one line, totalled from it and placed now; fields default to a 1 × MUG order at 100 cents. */
export function placedPayload({
  orderId = randomUUID(),
  customerEmail = 'ada@example.com',
  sku = 'MUG',
  quantity = 1,
  unitPriceCents = 100,
  placedAt = new Date().toISOString(),
}: { orderId?: string; customerEmail?: string; sku?: string; quantity?: number; unitPriceCents?: number; placedAt?: string } = {}): OrderPlacedPayload {
  return { orderId, customerEmail, items: [{ sku, quantity, unitPriceCents }], totalCents: quantity * unitPriceCents, placedAt };
}

/** An `order.placed` envelope as the order module would write it (see placedPayload for the fields). */
export function placedEnvelope(
  fields: Parameters<typeof placedPayload>[0] = {},
  overrides: Partial<EventEnvelope<OrderPlacedPayload>> = {},
): EventEnvelope<OrderPlacedPayload> {
  return envelopeOf(OrderPlaced, placedPayload(fields), overrides);
}

/** The headers the outbox relay writes for an envelope (none for raw text, bytes or a value without an event id). */
function headersOf(value: unknown): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return undefined;
  const env = value as Partial<EventEnvelope>;
  if (typeof env.eventId !== 'string') return undefined;
  // A deliberately broken envelope may lack fields; a header is text or absent, never "undefined".
  return Object.fromEntries(Object.entries(envelopeHeaders(env as EventEnvelope)).filter(([, v]) => v !== undefined && v !== 'undefined'));
}

/** Publishes raw values (envelopes are JSON-encoded) straight to a topic, acks=all; resolves with where they landed. */
export async function publish(
  kafka: Kafka,
  topic: string,
  messages: { key: string; value: unknown; partition?: number; headers?: Record<string, string> }[],
  { compression = CompressionTypes.None }: { compression?: CompressionTypes } = {},
): Promise<RecordMetadata[]> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    return await producer.send({
      topic,
      acks: -1,
      compression,
      messages: messages.map((m) => ({
        key: m.key,
        partition: m.partition,
        value: typeof m.value === 'string' || Buffer.isBuffer(m.value) ? m.value : JSON.stringify(m.value),
        headers: { ...headersOf(m.value), ...m.headers },
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

export interface ReadMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/**
 * Reads every message of the given topics from the beginning, until `until` holds or the time runs
 * out. The reader commits nothing, so its throwaway group leaves no offsets on the broker; an error
 * in `until` or in the consumer fails the read with that error.
 */
export async function readTopics(
  kafka: Kafka,
  topics: string[],
  until: (messages: ReadMessage[]) => boolean,
  timeoutMs = 20_000,
): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: `e2e-reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  const seen: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${seen.length} message(s) from ${topics.join(', ')}; condition not met`)), timeoutMs);
      const fail = (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      };
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            seen.push({ topic, partition, message });
            let done: boolean;
            try {
              done = until(seen);
            } catch (e) {
              return fail(e);
            }
            if (done) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(fail);
    });
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

/** Every message the topics hold when called (up to their end offsets then). */
export async function readToEnd(kafka: Kafka, topics: string[], timeoutMs = 20_000): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  let held = 0;
  try {
    for (const topic of topics) held += (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
  return held === 0 ? [] : readTopics(kafka, topics, (ms) => ms.length >= held, timeoutMs);
}

/**
 * Publishes one record whose `nullHeaders` have a null value, with Kafka's own Java client (kafkajs
 * cannot write one; Java services, Kafka Connect and kcat do): the broker's jars, a Java source file.
 */
export async function publishWithNullHeaders(brokers: string, topic: string, key: string, value: string, nullHeaders: string[]): Promise<void> {
  const root = join(__dirname, '../..');
  const libs = join(process.env.KAFKA_CACHE_DIR ?? join(root, '.cache/kafka'), `libs-${process.env.KAFKA_VERSION ?? '4.1.1'}`);
  // The jars are there once a broker was started from them; a broker reused from elsewhere may need them fetched.
  await promisify(execFile)('bash', [join(root, 'scripts/kafka/kafka.sh'), 'fetch'], { timeout: 300_000 });
  await promisify(execFile)(
    'java',
    ['-cp', `${libs}/*`, join(root, 'test/fixtures/java/NullHeaderProducer.java'), brokers, topic, key, value, ...nullHeaders],
    { timeout: 60_000 },
  );
}
