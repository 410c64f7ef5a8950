import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { CompressionTypes, ICustomPartitioner, IHeaders, Kafka, Message, Partitioners, Producer, ProducerConfig, RecordMetadata } from 'kafkajs';
import { Environment } from '../config/environment';
import { createKafka } from './kafka-client';

export interface OutgoingMessage {
  topic: string;
  key: string;
  value: string | Buffer;
  headers?: IHeaders;
}

/**
 * The most a request carries (keys, values, headers, and 64 bytes a message for the record's own
 * fields). kafkajs puts all of a request's messages for one partition into one record batch, and the
 * broker refuses a batch over `message.max.bytes` (1,048,588 by default): 500 outbox events of a large
 * order on a one-partition topic, or a redrive of a big DLQ, would fail every time. Close to that
 * limit, so that a relay batch of 500 ordinary events (~1 KB each with their headers: 487 KB for the
 * bench's orders) stays one request, one round trip, with room for larger ones.
 */
export const MAX_REQUEST_BYTES = 1_000_000;

const sizeOf = (m: OutgoingMessage): number =>
  Buffer.byteLength(m.key) +
  Buffer.byteLength(m.value) +
  Object.entries(m.headers ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + (v === undefined ? 0 : Buffer.byteLength(String(v))), 0) +
  64;

/** Consecutive runs of `messages` of at most `maxBytes` each (a larger message goes alone), in order. */
export function chunksOf(messages: OutgoingMessage[], maxBytes = MAX_REQUEST_BYTES): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = sizeOf(m);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Sends `messages` with acks=all, in order, one request per chunk (see chunksOf). A message larger
 * than a request goes alone and gzip-compressed: an event that came in compressed (a consumer sees it
 * decompressed) moves on to a retry or dead-letter topic, or back by a redrive, at the size the broker
 * took it; sent as it is, the broker would refuse it. Everything else goes uncompressed.
 */
export async function sendInRequests(producer: Producer, messages: OutgoingMessage[], maxBytes = MAX_REQUEST_BYTES): Promise<void> {
  for (const chunk of chunksOf(messages, maxBytes)) {
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const m of chunk) {
      const list = byTopic.get(m.topic) ?? [];
      list.push(m);
      byTopic.set(m.topic, list);
    }
    const topicMessages = [...byTopic].map(([topic, list]) => ({
      topic,
      messages: list.map((m): Message => ({ key: m.key, value: m.value, headers: m.headers })),
    }));
    const answered = await producer.sendBatch({
      acks: -1,
      compression: chunk.length === 1 && sizeOf(chunk[0]) > maxBytes ? CompressionTypes.GZIP : CompressionTypes.None,
      topicMessages,
    });
    assertEveryPartitionAnswered(topicMessages, answered);
  }
}

/** The partition kafkajs' partitioner chose for each message object it was given (it runs on every attempt), or MOVED. */
const chosenPartition = new WeakMap<object, number>();
/** The partitioner chose different partitions for one message on different attempts. */
const MOVED = -1;

/** The Java client's murmur2 partitioner (kafkajs' default), noting what it chose for each message. */
export const recordingPartitioner: ICustomPartitioner = () => {
  const murmur2 = Partitioners.DefaultPartitioner();
  return (args) => {
    const partition = murmur2(args);
    const before = chosenPartition.get(args.message);
    chosenPartition.set(args.message, before === undefined || before === partition ? partition : MOVED);
    return partition;
  };
};

/**
 * Throws unless the broker answered for every partition the batch's messages went to. kafkajs 2.2.4
 * keeps, across a send's retries, the brokers that already answered and retries only the others: when
 * a partition's leader moved to a broker that had answered for another partition (a rolling restart,
 * NOT_LEADER_OR_FOLLOWER), that partition is never sent and the send resolves all the same
 * (tulios/kafkajs#1303). The relay then deleted events never written. Thrown, the whole batch goes
 * again; what did go is a duplicate, which the inboxes absorb.
 */
export function assertEveryPartitionAnswered(topicMessages: { topic: string; messages: Message[] }[], answered: RecordMetadata[]): void {
  const got = new Set(answered.map((r) => `${r.partition} ${r.topicName}`));
  const missing = new Set<string>();
  for (const { topic, messages } of topicMessages) {
    for (const m of messages) {
      const chosen = chosenPartition.get(m);
      // Without a key kafkajs spreads messages round-robin, afresh on each attempt; a message whose
      // partition changed between attempts (partitions added meanwhile) may have been written to
      // one and skipped on the other: neither can be vouched for, so the batch goes again.
      if (m.key === null || m.key === undefined || chosen === MOVED) missing.add(`${topic}[${chosen === MOVED ? 'moved' : '?'}]`);
      else if (chosen !== undefined && !got.has(`${chosen} ${topic}`)) missing.add(`${topic}[${chosen}]`);
    }
  }
  if (missing.size > 0) {
    throw new Error(`kafkajs resolved a send without an answer for ${[...missing].join(', ')} (tulios/kafkajs#1303): sending the batch again`);
  }
}

/**
 * The process's one Kafka producer: acks=all, one request in flight per broker, Java-compatible
 * murmur2 partitioning (so key = order id lands on the same partition as any other client would put it).
 *
 * Not idempotent: kafkajs 2.2.4 takes a failed request's sequence numbers back even when the broker
 * wrote it (a connection cut after the write, a timeout under acks=all), so the next batch to that
 * partition reuses them. The broker then acknowledges it as a duplicate without writing it (lost:
 * a retry forward or an outbox row deleted as sent), or, at another size, answers
 * OUT_OF_ORDER_SEQUENCE_NUMBER on every send until the process restarts (kafkajs#598). A plain
 * producer re-sends such a request whole instead: a duplicate, after the original, which the
 * consumers' inboxes absorb.
 */
export const PRODUCER_CONFIG: ProducerConfig = {
  idempotent: false,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  createPartitioner: recordingPartitioner,
};

@Injectable()
export class KafkaProducer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(KafkaProducer.name);
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private connecting?: Promise<void>;
  private connected = false;
  private stopping = false;

  constructor(config: ConfigService<Environment, true>) {
    this.kafka = createKafka(
      { KAFKA_BROKERS: config.get('KAFKA_BROKERS'), KAFKA_CLIENT_ID: config.get('KAFKA_CLIENT_ID') },
      'producer',
    );
    this.producer = this.kafka.producer(PRODUCER_CONFIG);
    this.producer.on(this.producer.events.CONNECT, () => (this.connected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.connected = false));
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /**
   * Sends all messages with acks=all, in order, in requests of at most MAX_REQUEST_BYTES; resolves
   * only when the broker has them all. A failure may leave the first requests sent (the caller sends
   * them again: consumers dedupe through their inbox).
   */
  async send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ensureConnected();
    await sendInRequests(this.producer, messages);
  }

  private ensureConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    this.connecting ??= this.producer.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Connects in the background, so readiness reflects the broker before the first send. */
  onApplicationBootstrap(): void {
    void (async () => {
      for (let delay = 500; !this.stopping && !this.connected; delay = Math.min(delay * 2, 10_000)) {
        try {
          await this.ensureConnected();
        } catch (e) {
          this.logger.warn(`cannot reach Kafka yet, retrying in ${delay} ms: ${String(e)}`);
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    })();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.producer.disconnect().catch((e: unknown) => this.logger.warn(`producer disconnect: ${String(e)}`));
  }
}
