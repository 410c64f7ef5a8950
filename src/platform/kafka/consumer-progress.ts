import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Kafka } from 'kafkajs';
import { Environment, ModuleName } from '../config/environment';
import { groupPosition } from './consumer-offsets';
import { createKafka } from './kafka-client';
import { KafkaNaming } from './kafka-naming';

/**
 * How far a module's consumer group has read, for work that must not act on what the group has not
 * read yet: a timeout that would decide "no answer came" while the answer waits in Kafka.
 */
@Injectable()
export class ConsumerProgress {
  private readonly kafka: Kafka;

  constructor(
    config: ConfigService<Environment, true>,
    private readonly naming: KafkaNaming,
  ) {
    this.kafka = createKafka({ KAFKA_BROKERS: config.get('KAFKA_BROKERS'), KAFKA_CLIENT_ID: config.get('KAFKA_CLIENT_ID') }, 'progress');
  }

  /**
   * Whether `module`'s group has committed past every event of `topics` (logical names) written
   * before `at` (the events' own timestamps, set by their producers' clocks), and past everything in
   * its retry topics: an event of `topics` that failed waits there, re-sent with a new timestamp. A
   * topic that does not exist yet holds nothing. Throws when the broker cannot say.
   */
  async readThrough(module: ModuleName, topics: string[], at: Date): Promise<boolean> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      const present = topics.map((t) => this.naming.topic(t)).filter((t) => existing.includes(t));
      const retries = existing.filter((t) => this.naming.retryLevel(module, t) > 0);
      if (present.length + retries.length === 0) return true;
      const committed = await admin.fetchOffsets({ groupId: this.naming.group(module), topics: [...present, ...retries] });
      for (const topic of [...present, ...retries]) {
        const positions = new Map((committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
        const ends = await admin.fetchTopicOffsets(topic);
        const lows = new Map(ends.map((p) => [p.partition, BigInt(p.low)]));
        // The first offset written at or after `at` (the partition's end when nothing is that new); a retry topic's end.
        const targets = retries.includes(topic) ? ends.map((p) => ({ partition: p.partition, offset: p.high })) : await admin.fetchTopicOffsetsByTimestamp(topic, at.getTime());
        for (const { partition, offset } of targets) {
          if (groupPosition(positions.get(partition) ?? -1n, lows.get(partition) ?? 0n) < BigInt(offset)) return false;
        }
      }
      return true;
    } finally {
      await admin.disconnect();
    }
  }
}
