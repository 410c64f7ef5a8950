import { randomUUID } from 'node:crypto';
import { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { ModuleName } from '../config/environment';
import { DomainError } from '../http/domain-error';
import { header } from '../observability/log-context';
import { commitAsGroup, GroupOffset, groupPosition } from './consumer-offsets';
import { KafkaNaming } from './kafka-naming';
import { OutgoingMessage } from './kafka-producer';
import { withoutTransportHeaders } from './module-kafka.server';
import { RetryHeaders } from './transport-headers';

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
  /**
   * Set when the letter has no value: the broker refused it at this size even compressed (it was near
   * the limit before the letter's headers, and incompressible). Read it at `source` while that topic
   * retains it; a redrive of the letter parks again.
   */
  valueDroppedBytes: number | null;
}

interface Entry {
  letter: DeadLetter;
  message: KafkaMessage;
}

/** Where a scan has read to: the next offset of each partition it read. */
type Reached = Map<number, bigint>;

/** A page of dead letters, and where the next one starts (`null`: nothing more up to the topic's end when read). */
export interface DeadLetterPage {
  items: DeadLetter[];
  nextCursor: string | null;
}

/** A list cursor: where each partition's next page starts, in the letters' own `<partition>:<offset>` notation. */
export const DLQ_CURSOR_PATTERN = /^\d{1,6}:\d{1,19}(,\d{1,6}:\d{1,19}){0,9999}$/;

function encodeCursor(positions: Reached): string {
  return [...positions].sort(([a], [b]) => a - b).map(([p, o]) => `${p}:${o}`).join(',');
}

function decodeCursor(cursor: string): Reached {
  if (!DLQ_CURSOR_PATTERN.test(cursor)) throw new Error(`not a dead-letter cursor: ${cursor.slice(0, 50)}`);
  return new Map(cursor.split(',').map((pair) => pair.split(':')).map(([p, o]) => [Number(p), BigInt(o)]));
}

export interface DeadLettersOptions {
  /** Letters a redrive of everything sends at a time before it moves the redrive mark: it holds no more than this. */
  pageSize?: number;
  /** A read that gets no letter for this long while some are still due gives up. */
  readIdleMs?: number;
}

/** A page also ends once its values reach this many bytes (letters can be as large as events). */
const PAGE_BYTES = 4_000_000;

/**
 * The letters redriven by id past the redrive mark are kept in the mark's own offset commit, as its
 * metadata (`redriven:<offset>,…`): Kafka stores it with the offset, durably and atomically, and a
 * broker takes up to 4,096 bytes of it by default (offset.metadata.max.bytes). Each letter there is
 * dropped once the mark passes it.
 */
const REDRIVEN_PREFIX = 'redriven:';
const REDRIVEN_MAX_BYTES = 4000;

/** The offsets a mark's metadata names as redriven by id. */
export function redrivenById(metadata: string | null | undefined): Set<bigint> {
  if (!metadata?.startsWith(REDRIVEN_PREFIX)) return new Set();
  return new Set(metadata.slice(REDRIVEN_PREFIX.length).split(',').filter((o) => /^\d+$/.test(o)).map((o) => BigInt(o)));
}

/** The metadata of a mark at `mark`: the offsets of `redriven` at or past it (null when none). */
function markMetadata(redriven: Iterable<bigint>, mark: bigint): string | null {
  const kept = [...redriven].filter((o) => o >= mark).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return kept.length === 0 ? null : `${REDRIVEN_PREFIX}${kept.join(',')}`;
}

/** Letters not redriven yet of one DLQ: past the redrive group's mark, less those redriven by id (for the metrics). */
export async function pendingLetters(
  reader: Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>,
  groupId: string,
  topic: string,
): Promise<number> {
  const [committed] = await reader.fetchOffsets({ groupId, topics: [topic] });
  const marks = new Map((committed?.partitions ?? []).map((p) => [p.partition, p]));
  let pending = 0n;
  for (const end of await reader.fetchTopicOffsets(topic)) {
    const high = BigInt(end.high);
    const from = groupPosition(BigInt(marks.get(end.partition)?.offset ?? -1), BigInt(end.low));
    const byId = [...redrivenById(marks.get(end.partition)?.metadata)].filter((o) => o >= from && o < high).length;
    pending += (high > from ? high - from : 0n) - BigInt(byId);
  }
  return Number(pending);
}

/** A redrive of the module runs now (its redrive group has a member): two at once would send letters twice. */
export class RedriveInProgressError extends DomainError {
  readonly code = 'DLQ.REDRIVE_IN_PROGRESS';
  readonly kind = 'conflict';
  constructor(groupId: string) {
    super(`a redrive of these dead letters is running (${groupId} has a member); retry when it is done`);
  }
}

/** More letters redriven by id past the mark than the mark can name: a redrive of everything moves it first. */
export class TooManyRedrivenByIdError extends DomainError {
  readonly code = 'DLQ.TOO_MANY_REDRIVEN_BY_ID';
  readonly kind = 'conflict';
  constructor(partition: number) {
    super(`partition ${partition} has too many letters redriven by id past the redrive mark to remember more; redrive everything not redriven yet first (no ids), then these`);
  }
}

/**
 * Reads and redrives a module's dead-letter topic. What has been redriven is remembered as the
 * committed offsets of the group `<module>.dlq-redrive` (the redrive mark), and what was redriven by
 * id past it in the mark's metadata, so the topic itself stays an audit log.
 */
export class DeadLetters {
  private readonly pageSize: number;
  private readonly readIdleMs: number;

  constructor(
    private readonly kafka: Kafka,
    private readonly naming: KafkaNaming,
    private readonly send: (messages: OutgoingMessage[]) => Promise<void>,
    options: DeadLettersOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 500;
    this.readIdleMs = options.readIdleMs ?? 30_000;
  }

  private redriveGroup(module: ModuleName): string {
    return `${this.naming.group(module)}.dlq-redrive`;
  }

  /**
   * A page of a module's dead letters, each partition's oldest first: at most `limit`, and fewer once
   * their values reach 4 MB. `pending`: only those not redriven yet (read from the redrive mark on).
   * `cursor`: the `nextCursor` of the page before.
   */
  async list(module: ModuleName, { limit = 1000, pending = false, cursor }: { limit?: number; pending?: boolean; cursor?: string } = {}): Promise<DeadLetterPage> {
    const items: DeadLetter[] = [];
    const stoppedAt = await this.scan(module, { fromMarks: pending, pageSize: limit, after: cursor ? decodeCursor(cursor) : undefined }, async (page) => {
      items.push(...page.map((e) => e.letter));
      return false;
    });
    return {
      items: items.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true })),
      nextCursor: stoppedAt ? encodeCursor(stoppedAt) : null,
    };
  }

  /**
   * Sends parked events back to the module that parked them, through its first retry topic, due
   * now and with a fresh retry budget (original key, value and headers; the source topic kept in
   * headers). Only that module's group sees them again, and a module needs no write access to
   * topics it does not own. Without ids: everything not redriven yet, a page at a time, the redrive
   * mark moving past each page once it is sent (a redrive that fails part way resumes after the
   * pages sent). The inbox makes a redrive of something already applied harmless.
   */
  async redrive(module: ModuleName, ids?: string[]): Promise<{ redriven: string[] }> {
    const redriven: string[] = [];
    if (ids) {
      // Named ids may be anywhere in the topic (redriven already or not): read it all, keep only those.
      const wanted = new Set(ids);
      const chosen: Entry[] = [];
      await this.scan(
        module,
        { fromMarks: false, pageSize: this.pageSize, keep: (l) => wanted.has(l.id) || (l.eventId !== null && wanted.has(l.eventId)) },
        async (page) => {
          chosen.push(...page);
          return true;
        },
      );
      const marks = await this.marksWith(module, chosen);
      await this.send(chosen.map((e) => this.toRedrive(module, e)));
      // Remembered after the send: a letter sent and not remembered is sent again by the next
      // redrive of everything (the inbox absorbs it), one remembered and not sent would be lost.
      // The marks are read again once this is the redrive group's only member: a redrive of
      // everything that moved the mark meanwhile is not moved back.
      if (marks.length > 0) await commitAsGroup(this.kafka, this.redriveGroup(module), marks, () => this.marksWith(module, chosen, false));
      return { redriven: chosen.map((e) => e.letter.id) };
    }
    await this.assertNoRedrive(module);
    // Up to where the read stops, not to today's end: letters parked since the read began are not sent.
    await this.scan(module, { fromMarks: true, pageSize: this.pageSize, asRedriver: true }, async (page) => {
      await this.send(page.map((e) => this.toRedrive(module, e)));
      redriven.push(...page.map((e) => e.letter.id));
      return true;
    });
    return { redriven };
  }

  /**
   * The redrive marks that name `chosen` as redriven too, for the partitions where one is past the
   * mark (the mark stays where it is). Checked before anything is sent: no redrive runs meanwhile,
   * and the marks can hold them.
   */
  private async marksWith(module: ModuleName, chosen: Entry[], checkNoRedrive = true): Promise<GroupOffset[]> {
    const topic = this.naming.deadLetterTopic(module);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (checkNoRedrive) await this.assertNoRedrive(module, admin);
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.low)]));
      const marks = new Map((await this.redriveMarks(admin, module)).map((p) => [p.partition, p]));
      const byPartition = new Map<number, bigint[]>();
      for (const { letter } of chosen) {
        const [partition, offset] = letter.id.split(':');
        byPartition.set(Number(partition), [...(byPartition.get(Number(partition)) ?? []), BigInt(offset)]);
      }
      const out: GroupOffset[] = [];
      for (const [partition, offsets] of byPartition) {
        const mark = groupPosition(BigInt(marks.get(partition)?.offset ?? -1), ends.get(partition) ?? 0n);
        const before = redrivenById(marks.get(partition)?.metadata);
        if (offsets.every((o) => o < mark || before.has(o))) continue;
        const metadata = markMetadata([...before, ...offsets], mark);
        if (metadata !== null && Buffer.byteLength(metadata) > REDRIVEN_MAX_BYTES) throw new TooManyRedrivenByIdError(partition);
        out.push({ topic, partition, offset: mark.toString(), metadata });
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  /** The redrive mark of each partition of the module's DLQ: the redrive group's committed offsets, with their metadata. */
  private async redriveMarks(admin: Admin, module: ModuleName): Promise<{ partition: number; offset: string; metadata: string | null }[]> {
    const [committed] = await admin.fetchOffsets({ groupId: this.redriveGroup(module), topics: [this.naming.deadLetterTopic(module)] });
    return committed?.partitions ?? [];
  }

  /** Refuses while the module's redrive group has a member: another redrive (a CLI, an HTTP call) is running. */
  private async assertNoRedrive(module: ModuleName, admin?: Admin): Promise<void> {
    const own = admin ?? this.kafka.admin();
    if (!admin) await own.connect();
    try {
      const groupId = this.redriveGroup(module);
      const { groups } = await own.describeGroups([groupId]);
      if ((groups[0]?.members.length ?? 0) > 0) throw new RedriveInProgressError(groupId);
    } finally {
      if (!admin) await own.disconnect();
    }
  }

  private toRedrive(module: ModuleName, { letter, message }: Entry): OutgoingMessage {
    return {
      topic: this.naming.redriveTopic(module),
      key: letter.key ?? '',
      value: message.value ?? Buffer.alloc(0),
      headers: {
        ...withoutTransportHeaders(message.headers),
        ...({
          'retry-level': '1',
          'retry-due-at': String(Date.now()),
          'retry-attempts': '0',
          'retry-source-topic': letter.source.topic,
          'retry-source-partition': String(letter.source.partition),
          'retry-source-offset': letter.source.offset,
          'redriven-from': `${this.naming.deadLetterTopic(module)}@${letter.id}`,
        } satisfies RetryHeaders),
      },
    };
  }

  /**
   * Reads the letters up to each partition's end when the scan began (from the redrive mark on, when
   * `fromMarks`; else from the earliest retained; and not before `after`) and hands them over in
   * pages of `pageSize` (fewer for large letters; the last page may be empty). `onPage` says whether
   * to go on. Only a page is held at a time. Resolves with where each partition's read stopped when
   * `onPage` stopped it before the ends, else with nothing.
   *
   * A throwaway group reads, or, `asRedriver`, the redrive group itself: it starts at the redrive mark
   * (its committed offsets) and commits how far it has read after each page, which moves the mark
   * past it. Joining the group is the only way kafkajs commits a group's offsets; its
   * `admin.setOffsets` joins too, and then waits out a 5 s fetch.
   */
  private async scan(
    module: ModuleName,
    {
      fromMarks,
      pageSize,
      keep,
      after,
      asRedriver = false,
    }: { fromMarks: boolean; pageSize: number; keep?: (letter: DeadLetter) => boolean; after?: Reached; asRedriver?: boolean },
    onPage: (page: Entry[]) => Promise<boolean>,
  ): Promise<Reached | undefined> {
    const topic = this.naming.deadLetterTopic(module);
    // One admin connection for the whole read: offsets first, then the reader group's clean-up.
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) return undefined;
      const ends = await admin.fetchTopicOffsets(topic);
      const committed = await this.redriveMarks(admin, module);
      const marks = new Map(committed.map((p) => [p.partition, BigInt(p.offset)]));
      const byId = new Map(committed.map((p) => [p.partition, redrivenById(p.metadata)]));
      const start = new Map(
        ends.map((p) => {
          const low = BigInt(p.low);
          const mark = marks.get(p.partition) ?? -1n;
          const from = fromMarks && mark > low ? mark : low;
          const cursor = after?.get(p.partition) ?? -1n;
          return [p.partition, cursor > from ? cursor : from];
        }),
      );
      const pending = new Map(ends.filter((p) => BigInt(p.high) > start.get(p.partition)!).map((p) => [p.partition, BigInt(p.high)]));
      if (pending.size === 0) return undefined;

      const groupId = asRedriver ? this.redriveGroup(module) : `${this.naming.group(module)}.dlq-reader-${randomUUID()}`;
      const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        const reached: Reached = new Map();
        const stoppedEarly = await new Promise<boolean>((resolve, reject) => {
          let page: Entry[] = [];
          let bytes = 0;
          let finished = false;
          let idle: NodeJS.Timeout | undefined;
          const finish = (error?: unknown) => {
            finished = true;
            clearTimeout(idle);
            if (error === undefined) resolve(pending.size > 0);
            else reject(error instanceof Error ? error : new Error(String(error)));
          };
          const stillReading = () => {
            clearTimeout(idle);
            idle = setTimeout(() => finish(new Error(`reading ${topic} timed out: no letter for ${this.readIdleMs} ms`)), this.readIdleMs);
          };
          const handOver = async (): Promise<boolean> => {
            const full = page;
            page = [];
            bytes = 0;
            const goOn = await onPage(full);
            if (asRedriver && reached.size > 0) {
              await consumer.commitOffsets(
                [...reached].map(([partition, next]) => ({ topic, partition, offset: next.toString(), metadata: markMetadata(byId.get(partition) ?? [], next) })),
              );
            }
            return goOn;
          };
          stillReading();
          // The redrive group's member reads what was redriven by id again once it has joined: a redrive
          // by id that committed after the read above (and before the join) would otherwise be sent
          // again, and its entries written over by this redrive's commits. Once joined, none can commit.
          let byIdReread = !asRedriver;
          void consumer
            .run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                if (finished) return;
                if (!byIdReread) {
                  byIdReread = true;
                  try {
                    for (const p of await this.redriveMarks(admin, module)) byId.set(p.partition, redrivenById(p.metadata));
                  } catch (e) {
                    finish(e);
                    return;
                  }
                }
                stillReading();
                const end = pending.get(partition);
                const offset = BigInt(message.offset);
                if (end === undefined || offset < start.get(partition)! || offset >= end) return;
                const letter = this.toLetter(partition, message, marks.get(partition) ?? -1n, byId.get(partition));
                // From the marks on, a letter redriven by id is not pending: not listed, not sent again.
                if ((!fromMarks || !letter.redriven) && (!keep || keep(letter))) {
                  page.push({ letter, message });
                  bytes += message.value?.length ?? 0;
                }
                reached.set(partition, offset + 1n);
                if (offset + 1n >= end) pending.delete(partition);
                try {
                  const last = pending.size === 0;
                  if ((last || page.length >= pageSize || bytes >= PAGE_BYTES) && (!(await handOver()) || last)) finish();
                } catch (e) {
                  finish(e);
                }
              },
            })
            .catch(finish);
          // A throwaway reader starts where the read does (the redrive group starts at its mark).
          if (!asRedriver) {
            for (const p of ends) {
              if (start.get(p.partition)! > BigInt(p.low)) consumer.seek({ topic, partition: p.partition, offset: start.get(p.partition)!.toString() });
            }
          }
        });
        return stoppedEarly ? new Map(ends.map((p) => [p.partition, reached.get(p.partition) ?? start.get(p.partition)!])) : undefined;
      } finally {
        await consumer.disconnect();
        if (!asRedriver) await admin.deleteGroups([groupId]).catch(() => undefined);
      }
    } finally {
      await admin.disconnect();
    }
  }

  private toLetter(partition: number, message: KafkaMessage, mark: bigint, byId: Set<bigint> = new Set()): DeadLetter {
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
      redriven: BigInt(message.offset) < mark || byId.has(BigInt(message.offset)),
      valueDroppedBytes: header(h, 'dlq-value-dropped') === undefined ? null : Number(header(h, 'dlq-value-dropped')),
    };
  }
}
