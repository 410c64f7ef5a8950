import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Admin, ConfigResourceTypes, Kafka } from 'kafkajs';
import { EVENTS } from '../../contracts';
import { Environment, ModuleName } from '../config/environment';
import { createKafka } from './kafka-client';
import { KafkaNaming } from './kafka-naming';

/** How long a topic keeps an event: `retention.ms` and `segment.ms` (ms), and whether it compacts. */
export interface TopicKeeps {
  retentionMs: number;
  segmentMs: number;
  compacted: boolean;
}

/**
 * Creates the topics the app uses, with explicit partition counts (the broker does not
 * auto-create). Idempotent: existing topics are left as they are.
 */
@Injectable()
export class TopicProvisioner {
  private readonly logger = new Logger(TopicProvisioner.name);
  private readonly kafka: Kafka;
  private readonly created = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: ConfigService<Environment, true>,
    private readonly naming: KafkaNaming,
  ) {
    this.kafka = createKafka(
      { KAFKA_BROKERS: config.get('KAFKA_BROKERS'), KAFKA_CLIENT_ID: config.get('KAFKA_CLIENT_ID') },
      'admin',
    );
  }

  /** The event topics of the published language; only those `producer` emits when given. */
  eventTopics(producer?: string): string[] {
    const events = Object.values(EVENTS).filter((e) => producer === undefined || e.producer === producer);
    return [...new Set(events.map((e) => this.naming.topic(e.topic)))];
  }

  /**
   * How long each topic keeps an event at most, in ms: `retention.ms` (-1: forever) and `segment.ms`
   * (an event is deleted with its segment, which closes up to segment.ms after its first event), as
   * the broker applies them (a topic's own setting, else the broker's default), and whether it is
   * compacted (then the last event of each key stays whatever the retention).
   */
  async retention(topics: string[]): Promise<Map<string, TopicKeeps>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms', 'segment.ms', 'cleanup.policy'] })),
      });
      return new Map(
        resources.map((r) => {
          if (r.errorCode !== 0) throw new Error(`describeConfigs ${r.resourceName}: ${r.errorMessage ?? `error ${r.errorCode}`}`);
          const entry = (name: string) => r.configEntries.find((e) => e.configName === name)?.configValue;
          const ms = (name: string) => {
            const value = Number(entry(name));
            if (!Number.isFinite(value)) throw new Error(`describeConfigs ${r.resourceName}: no ${name}`);
            return value;
          };
          const policy = entry('cleanup.policy') ?? 'delete';
          return [r.resourceName, { retentionMs: ms('retention.ms'), segmentMs: ms('segment.ms'), compacted: policy.includes('compact') }];
        }),
      );
    } finally {
      await admin.disconnect();
    }
  }

  /** `module`'s retry topics above `levels` that exist on the broker (left by an earlier KAFKA_RETRY_DELAYS_MS with more levels). */
  async retryTopicsAbove(module: ModuleName, levels: number): Promise<string[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return (await admin.listTopics()).filter((t) => this.naming.retryLevel(module, t) > levels).sort();
    } finally {
      await admin.disconnect();
    }
  }

  /** One creation at a time: four module servers and the relays start together and ask for overlapping topics. */
  ensure(topics: string[]): Promise<void> {
    const next = this.queue.then(() => this.create(topics));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * KAFKA_REPLICATION_FACTOR, else the cluster's brokers up to 3: one broker (the local one) gets 1,
   * a cluster of three or more gets 3, so a production cluster never gets topics that one lost
   * broker takes with it because a setting was forgotten.
   */
  private async replicationFactor(admin: Admin): Promise<number> {
    const configured = this.config.get('KAFKA_REPLICATION_FACTOR', { infer: true });
    if (configured !== undefined) return configured;
    const { brokers } = await admin.describeCluster();
    const factor = Math.max(1, Math.min(3, brokers.length));
    // The brokers that answer now: one of three down would give 2 for good (topics are never altered).
    if (factor < 3 && this.config.get('NODE_ENV', { infer: true }) === 'production') {
      this.logger.warn(`${brokers.length} broker(s) answer: new topics get ${factor} replica(s); set KAFKA_REPLICATION_FACTOR to pin the number`);
    }
    return factor;
  }

  private async create(topics: string[]): Promise<void> {
    const missing = topics.filter((t) => !this.created.has(t));
    if (missing.length === 0) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const toCreate = missing.filter((t) => !existing.has(t));
      if (toCreate.length > 0) {
        const replicationFactor = await this.replicationFactor(admin);
        await admin.createTopics({
          waitForLeaders: true,
          topics: toCreate.map((topic) => ({
            topic,
            numPartitions: this.config.get(this.naming.isRetryTopic(topic) ? 'KAFKA_RETRY_TOPIC_PARTITIONS' : 'KAFKA_TOPIC_PARTITIONS', { infer: true }),
            replicationFactor,
          })),
        });
        this.logger.log(`created topics (${replicationFactor} replica${replicationFactor === 1 ? '' : 's'} each): ${toCreate.join(', ')}`);
      }
      missing.forEach((t) => this.created.add(t));
    } finally {
      await admin.disconnect();
    }
  }
}
