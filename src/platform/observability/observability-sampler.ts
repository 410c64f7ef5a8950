import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { Environment, ModuleName } from '../config/environment';
import { groupPosition } from '../kafka/consumer-offsets';
import { pendingLetters } from '../kafka/dead-letters';
import { describeError } from '../kafka/errors';
import { kafkaClientConfig } from '../kafka/kafka-client';
import { KafkaNaming } from '../kafka/kafka-naming';
import { KafkaRegistry } from '../kafka/kafka-registry';
import { withTimeout } from '../health/indicators/with-timeout';
import { Metrics } from './metrics';

/** The admin calls lag needs (a kafkajs Admin has them). */
export type OffsetsReader = Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>;

interface ModuleSample {
  module: ModuleName;
  group: string;
  lags: PartitionLag[];
  depth: number;
  pending: number;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

/**
 * Lag of `groupId` on `topics`: the end offset minus the committed one, per partition. A partition
 * the group never committed, or whose committed offset retention has since deleted, counts from the
 * earliest retained offset: what the group will read next (the groups read from the beginning).
 */
export async function consumerLag(reader: OffsetsReader, groupId: string, topics: string[]): Promise<PartitionLag[]> {
  if (topics.length === 0) return [];
  const committed = await reader.fetchOffsets({ groupId, topics });
  const lags: PartitionLag[] = [];
  for (const topic of topics) {
    const ends = await reader.fetchTopicOffsets(topic);
    const byPartition = new Map(
      (committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]),
    );
    for (const end of ends) {
      const high = BigInt(end.high);
      const from = groupPosition(byPartition.get(end.partition) ?? -1n, BigInt(end.low));
      lags.push({ topic, partition: end.partition, lag: Number(high > from ? high - from : 0n) });
    }
  }
  return lags;
}

/**
 * A reader for one sample that asks each topic's offsets once, however many groups read the topic
 * (order.placed has three). Each ask is a Metadata and two ListOffsets requests with kafkajs.
 */
export function oncePerTopic(reader: OffsetsReader): OffsetsReader {
  const ends = new Map<string, ReturnType<OffsetsReader['fetchTopicOffsets']>>();
  return {
    fetchOffsets: (options) => reader.fetchOffsets(options),
    fetchTopicOffsets: (topic) => {
      if (!ends.has(topic)) ends.set(topic, reader.fetchTopicOffsets(topic));
      return ends.get(topic)!;
    },
  };
}

/** Messages a topic holds now: end minus earliest retained offset, summed over partitions. */
export async function topicDepth(reader: OffsetsReader, topic: string): Promise<number> {
  const offsets = await reader.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Math.max(Number(p.high) - Number(p.low), 0), 0);
}

/** The most a module's sample (or connecting the admin client) may take: a broker or database that hangs fails it. */
export const SAMPLE_TIMEOUT_MS = 10_000;
/** The most shutdown waits for a sample in flight. */
const SHUTDOWN_WAIT_MS = 2_000;

/**
 * Samples what needs a round trip (consumer lag and DLQ size from the Kafka admin API, outbox
 * backlog from Postgres) every METRICS_SAMPLE_INTERVAL_MS in the background, so a scrape only
 * reads cached gauges. A failed sample clears its module's gauges (no stale numbers) and is counted;
 * the other modules' stay. Every sample is bounded by SAMPLE_TIMEOUT_MS: one that hangs (a pool with
 * no connection free, a broker that takes requests and never answers) used to freeze every gauge at
 * its last value and hold up shutdown.
 */
@Injectable()
export class ObservabilitySampler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ObservabilitySampler.name);
  private readonly kafka: Kafka;
  private admin?: Admin;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly intervalMs: number;

  constructor(
    private readonly metrics: Metrics,
    private readonly registry: KafkaRegistry,
    private readonly naming: KafkaNaming,
    config: ConfigService<Environment, true>,
  ) {
    this.intervalMs = config.get('METRICS_SAMPLE_INTERVAL_MS', { infer: true });
    this.kafka = new Kafka({
      ...kafkaClientConfig(
        { KAFKA_BROKERS: config.get('KAFKA_BROKERS', { infer: true }), KAFKA_CLIENT_ID: config.get('KAFKA_CLIENT_ID', { infer: true }) },
        'metrics',
      ),
      // A sample that cannot reach the broker fails fast and is tried again next interval.
      retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 },
      logLevel: logLevel.NOTHING,
      logCreator: undefined,
    });
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await withTimeout(this.running ?? Promise.resolve(), SHUTDOWN_WAIT_MS, 'the sample in flight did not end').catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  /** One sample of everything; exposed for tests. */
  async sample(): Promise<void> {
    await Promise.all([this.sampleKafka(), this.sampleOutboxes()]);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sample().finally(() => this.schedule(this.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private async sampleKafka(): Promise<void> {
    if (this.registry.servers.size === 0) return;
    const modules = [...this.registry.servers];
    let samples: PromiseSettledResult<ModuleSample>[] = [];
    let failed = false;
    try {
      const reader = oncePerTopic(await this.connectedAdmin());
      samples = await Promise.allSettled(
        modules.map(([module, server]) => withTimeout(this.sampleModule(reader, module, server), SAMPLE_TIMEOUT_MS, `sampling ${module}'s lag and dead letters did not end`)),
      );
    } catch (e) {
      // No client: one failure, not one per module.
      failed = true;
      this.metrics.samplerErrors.inc({ sample: 'kafka' });
      this.logger.debug(`consumer lag sample failed: ${describeError(e)}`);
    }
    this.metrics.consumerLag.reset();
    this.metrics.deadLetterSize.reset();
    this.metrics.deadLetterPending.reset();
    samples.forEach((sample, i) => {
      if (sample.status === 'rejected') {
        failed = true;
        this.metrics.samplerErrors.inc({ sample: 'kafka' });
        this.logger.debug(`consumer lag sample of ${modules[i][0]} failed: ${describeError(sample.reason)}`);
        return;
      }
      const { module, group, lags, depth, pending } = sample.value;
      for (const lag of lags) {
        const topic = this.naming.logicalTopic(lag.topic) ?? lag.topic;
        this.metrics.consumerLag.set({ module, group, topic, partition: String(lag.partition) }, lag.lag);
      }
      this.metrics.deadLetterSize.set({ module }, depth);
      this.metrics.deadLetterPending.set({ module }, pending);
    });
    if (failed) {
      // A fresh admin next time: kafkajs does not always recover a client whose broker went away.
      const admin = this.admin;
      this.admin = undefined;
      await admin?.disconnect().catch(() => undefined);
    }
  }

  private async connectedAdmin(): Promise<Admin> {
    if (this.admin) return this.admin;
    const admin = this.kafka.admin();
    try {
      await withTimeout(admin.connect(), SAMPLE_TIMEOUT_MS, 'connecting the metrics admin client did not end');
    } catch (e) {
      // Not kept, so closed here: else a broker that takes connections and never answers left one socket per interval.
      await admin.disconnect().catch(() => undefined);
      throw e;
    }
    this.admin = admin;
    return admin;
  }

  private async sampleModule(reader: OffsetsReader, module: ModuleName, server: { groupId: string; subscriptions(): string[] }): Promise<ModuleSample> {
    // Its event topics and its retry topics: a stuck retry (or a redrive waiting) is lag too.
    const lags = await consumerLag(reader, server.groupId, server.subscriptions());
    const dead = this.naming.deadLetterTopic(module);
    // What is not redriven yet: past the redrive group's mark, less what was redriven by id (DeadLetters keeps both there).
    const pending = await pendingLetters(reader, `${server.groupId}.dlq-redrive`, dead);
    return { module, group: server.groupId, lags, depth: await topicDepth(reader, dead), pending };
  }

  private async sampleOutboxes(): Promise<void> {
    await Promise.all(
      [...this.registry.relays].map(async ([module, relay]) => {
        try {
          const { count, oldestAgeMs } = await withTimeout(relay.backlog(), SAMPLE_TIMEOUT_MS, `reading ${module}'s outbox backlog did not end`);
          this.metrics.outboxBacklog.set({ module }, count);
          this.metrics.outboxOldestAge.set({ module }, oldestAgeMs / 1000);
        } catch (e) {
          this.metrics.samplerErrors.inc({ sample: 'outbox' });
          this.metrics.outboxBacklog.remove({ module });
          this.metrics.outboxOldestAge.remove({ module });
          this.logger.debug(`outbox backlog sample of ${module} failed: ${describeError(e)}`);
        }
      }),
    );
  }
}
