import { randomUUID } from 'node:crypto';
import { Kafka, KafkaMessage } from 'kafkajs';
import { ModuleName } from '../config/environment';
import { header } from '../observability/log-context';
import { KafkaNaming } from './kafka-naming';
import { OutgoingMessage } from './kafka-producer';
import { withoutTransportHeaders } from './module-kafka.server';

export interface DeadLetter {
  /** `<partition>:<offset>` in the dead-letter topic. */
  id: string;
  eventId: string | null;
  type: string | null;
  key: string | null;
  error: string;
  errorCode: string;
  permanent: boolean;
  attempts: number;
  source: { topic: string; partition: number; offset: string };
  parkedAt: string | null;
  /** Already sent back to its module (through its first retry topic) by a redrive. */
  redriven: boolean;
}

/**
 * Reads and redrives a module's dead-letter topic. What has been redriven is remembered as the
 * committed offsets of the group `<module>.dlq-redrive`, so the topic itself stays an audit log.
 */
export class DeadLetters {
  constructor(
    private readonly kafka: Kafka,
    private readonly naming: KafkaNaming,
    private readonly send: (messages: OutgoingMessage[]) => Promise<void>,
  ) {}

  private redriveGroup(module: ModuleName): string {
    return `${this.naming.group(module)}.dlq-redrive`;
  }

  /** A module's dead letters, oldest first; `pending`: only those not redriven yet (read from the redrive mark on). */
  async list(module: ModuleName, limit = 1000, pending = false): Promise<DeadLetter[]> {
    return (await this.read(module, limit, pending)).entries.map((e) => e.letter);
  }

  /**
   * Sends parked events back to the module that parked them, through its first retry topic, due
   * now and with a fresh retry budget (original key, value and headers; the source topic kept in
   * headers). Only that module's group sees them again, and a module needs no write access to
   * topics it does not own. Without ids: everything not redriven yet. The inbox makes a redrive of
   * something already applied harmless.
   */
  async redrive(module: ModuleName, ids?: string[]): Promise<{ redriven: string[] }> {
    // Everything not redriven yet is read from the redrive mark on; named ids may be anywhere.
    const { entries, ends } = await this.read(module, Number.MAX_SAFE_INTEGER, !ids);
    const wanted = ids ? new Set(ids) : undefined;
    const chosen = entries.filter((e) =>
      wanted ? wanted.has(e.letter.id) || (e.letter.eventId !== null && wanted.has(e.letter.eventId)) : !e.letter.redriven,
    );
    await this.send(
      chosen.map(({ letter, message }) => ({
        topic: this.naming.redriveTopic(module),
        key: letter.key ?? '',
        value: message.value ?? Buffer.alloc(0),
        headers: {
          ...withoutTransportHeaders(message.headers),
          'retry-level': '1',
          'retry-due-at': String(Date.now()),
          'retry-attempts': '0',
          'retry-source-topic': letter.source.topic,
          'retry-source-partition': String(letter.source.partition),
          'retry-source-offset': letter.source.offset,
          'redriven-from': `${this.naming.deadLetterTopic(module)}@${letter.id}`,
        },
      })),
    );
    if (!wanted && ends.length > 0) {
      // Everything up to where the read stopped has been sent back: move the redrive mark there, not
      // to today's end, which may hold letters parked since the read (they were not sent).
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        await admin.setOffsets({ groupId: this.redriveGroup(module), topic: this.naming.deadLetterTopic(module), partitions: ends });
      } finally {
        await admin.disconnect();
      }
    }
    return { redriven: chosen.map((e) => e.letter.id) };
  }

  /**
   * The letters up to each partition's end when the read began (from the redrive mark on, when
   * `fromMarks`; else from the earliest retained), and those ends.
   */
  private async read(
    module: ModuleName,
    limit: number,
    fromMarks: boolean,
  ): Promise<{ entries: { letter: DeadLetter; message: KafkaMessage }[]; ends: { partition: number; offset: string }[] }> {
    const topic = this.naming.deadLetterTopic(module);
    // One admin connection for the whole read: offsets first, then the reader group's clean-up.
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) return { entries: [], ends: [] };
      const ends = await admin.fetchTopicOffsets(topic);
      const readTo = ends.map((p) => ({ partition: p.partition, offset: p.high }));
      const [committed] = await admin.fetchOffsets({ groupId: this.redriveGroup(module), topics: [topic] });
      const marks = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      const start = new Map(
        ends.map((p) => {
          const low = BigInt(p.low);
          const mark = marks.get(p.partition) ?? -1n;
          return [p.partition, fromMarks && mark > low ? mark : low];
        }),
      );
      const pending = new Map(ends.filter((p) => BigInt(p.high) > start.get(p.partition)!).map((p) => [p.partition, BigInt(p.high)]));
      const out: { letter: DeadLetter; message: KafkaMessage }[] = [];
      if (pending.size === 0) return { entries: out, ends: readTo };

      // A throwaway group reads the topic once, from where it starts (its offsets are set before it
      // joins; the others from the beginning) up to today's end.
      const groupId = `${this.naming.group(module)}.dlq-reader-${randomUUID()}`;
      const skip = ends.filter((p) => start.get(p.partition)! > BigInt(p.low));
      if (skip.length > 0) {
        await admin.setOffsets({ groupId, topic, partitions: skip.map((p) => ({ partition: p.partition, offset: start.get(p.partition)!.toString() })) });
      }
      const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 30_000);
          void consumer
            .run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                const end = pending.get(partition);
                if (end !== undefined && BigInt(message.offset) >= start.get(partition)! && BigInt(message.offset) < end && out.length < limit) {
                  out.push({ message, letter: this.toLetter(partition, message, marks.get(partition) ?? -1n) });
                }
                if (end !== undefined && BigInt(message.offset) + 1n >= end) pending.delete(partition);
                if (pending.size === 0 || out.length >= limit) {
                  clearTimeout(timer);
                  resolve();
                }
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect();
        await admin.deleteGroups([groupId]).catch(() => undefined);
      }
      return { entries: out.sort((a, b) => a.letter.id.localeCompare(b.letter.id, undefined, { numeric: true })), ends: readTo };
    } finally {
      await admin.disconnect();
    }
  }

  private toLetter(partition: number, message: KafkaMessage, mark: bigint): DeadLetter {
    const h = message.headers;
    let eventId: string | null = header(h, 'event-id') ?? null;
    let type: string | null = header(h, 'event-type') ?? null;
    if (!eventId || !type) {
      try {
        const env = JSON.parse(message.value?.toString('utf8') ?? '') as { eventId?: string; type?: string };
        eventId ??= typeof env.eventId === 'string' ? env.eventId : null;
        type ??= typeof env.type === 'string' ? env.type : null;
      } catch {
        // undecodable bytes: no event id to show
      }
    }
    return {
      id: `${partition}:${message.offset}`,
      eventId,
      type,
      key: message.key?.toString('utf8') ?? null,
      error: header(h, 'dlq-error') ?? '',
      errorCode: header(h, 'dlq-error-code') ?? '',
      permanent: header(h, 'dlq-permanent') === 'true',
      attempts: Number(header(h, 'dlq-attempts') ?? 0),
      source: {
        topic: header(h, 'dlq-source-topic') ?? '',
        partition: Number(header(h, 'dlq-source-partition') ?? -1),
        offset: header(h, 'dlq-source-offset') ?? '',
      },
      parkedAt: header(h, 'dlq-at') ?? null,
      redriven: BigInt(message.offset) < mark,
    };
  }
}
