import { Admin, Kafka } from 'kafkajs';
import { KafkaNaming } from './kafka-naming';

/** Where to move a consumer group: every partition's earliest retained offset, or the first offset at/after a time. */
export type ResetTarget = 'earliest' | Date;

/**
 * Where a group resumes reading a partition: its committed offset, or the earliest retained when it
 * has none (-1) or retention has deleted past it.
 */
export function groupPosition(committed: bigint, low: bigint): bigint {
  return committed > low ? committed : low;
}

export class GroupActiveError extends Error {
  constructor(
    readonly groupId: string,
    readonly members: string[],
  ) {
    super(
      `consumer group ${groupId} has ${members.length} live member(s) (${members.join(', ')}): ` +
        'stop those consumers (or start the app with MODULES without this module) before moving its offsets',
    );
  }
}

/** Refuses a group that has live members: the broker would reject the reset, and the members would race it. */
export async function assertGroupIdle(admin: Admin, groupId: string): Promise<void> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups.find((g) => g.groupId === groupId);
  if (group && group.members.length > 0) {
    throw new GroupActiveError(
      groupId,
      group.members.map((m) => `${m.clientId}@${m.clientHost}`),
    );
  }
}

/**
 * What a replay moves when no topics are named: the topics the group has offsets for, but its retry
 * topics. Moved back, those would send events that already ended in the DLQ through the retry chain
 * again and park them a second time.
 */
export function replayableTopics(committed: string[], naming: Pick<KafkaNaming, 'isRetryTopic'>): string[] {
  return committed.filter((topic) => !naming.isRetryTopic(topic));
}

export interface PartitionReset {
  topic: string;
  partition: number;
  offset: string;
  /** The group had not read this far yet: it stays where it was rather than skip what it never handled. */
  kept?: true;
}

/**
 * Moves an idle consumer group's committed offsets on `topics` back to `to`, so its next start
 * replays from there. Only what the topics still retain can be replayed (see the topic retention).
 * A partition the group has not read up to `to` yet stays where it is (a group without an offset
 * reads from the earliest), so a time after the group's position, or a local time mistaken for
 * UTC, skips nothing; `forward` moves those too, skipping the events in between.
 */
export async function resetGroupOffsets(
  kafka: Kafka,
  groupId: string,
  topics: string[],
  to: ResetTarget,
  { forward = false }: { forward?: boolean } = {},
): Promise<PartitionReset[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets: PartitionReset[] = [];
  try {
    await assertGroupIdle(admin, groupId);
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const committed = new Map(
      (present.length > 0 ? await admin.fetchOffsets({ groupId, topics: present }) : []).flatMap(({ topic, partitions }) =>
        partitions.map((p) => [`${p.partition} ${topic}`, BigInt(p.offset)] as const),
      ),
    );
    for (const topic of present) {
      const retained = await admin.fetchTopicOffsets(topic);
      const targets =
        to === 'earliest'
          ? retained.map((p) => ({ partition: p.partition, offset: p.low }))
          : // The first offset at or after the time; the end of the partition when nothing is that new.
            await admin.fetchTopicOffsetsByTimestamp(topic, to.getTime());
      const low = new Map(retained.map((p) => [p.partition, BigInt(p.low)]));
      for (const { partition, offset } of targets) {
        // Where the group's next start would read.
        const position = groupPosition(committed.get(`${partition} ${topic}`) ?? -1n, low.get(partition) ?? 0n);
        if (!forward && BigInt(offset) > position) offsets.push({ topic, partition, offset: position.toString(), kept: true });
        else offsets.push({ topic, partition, offset });
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (offsets.length > 0) await commitAsGroup(kafka, groupId, offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
  return offsets;
}

/** The most moving a group's offsets may take: a join, a fetch and a commit. */
const COMMIT_TIMEOUT_MS = 60_000;

export interface GroupOffset {
  topic: string;
  partition: number;
  offset: string;
  metadata?: string | null;
}

/**
 * Commits offsets for the group by joining it once, as its only member. (kafkajs'
 * `admin.setOffsets` does the same but joins once per topic, several seconds each.)
 * `recompute`, when given, reads the offsets to commit again once this is the group's only member
 * (a tool that reads them first and commits later could otherwise write over what another wrote
 * meanwhile); they must name the same partitions or fewer.
 */
export async function commitAsGroup(kafka: Kafka, groupId: string, asked: GroupOffset[], recompute?: () => Promise<GroupOffset[]>): Promise<void> {
  let offsets = asked;
  const topics = [...new Set(offsets.map((o) => o.topic))];
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 100,
    maxBytes: 1024,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    // Its work is one commit: never restart it behind our back after we stop it.
    retry: { retries: 5, restartOnFailure: async () => false },
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      // A join or first fetch that fails does not reject run(): kafkajs crashes the consumer (and,
      // told not to restart, leaves it stopped). Without these the promise never settled and the
      // CLI exited 0 with nothing committed.
      const timer = setTimeout(() => settle(new Error(`moving ${groupId}'s offsets did not finish within ${COMMIT_TIMEOUT_MS} ms`)), COMMIT_TIMEOUT_MS);
      const settle = (error?: unknown): void => {
        clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error instanceof Error ? error : new Error(String(error)));
      };
      consumer.on(consumer.events.CRASH, ({ payload }) => settle(new Error(`moving ${groupId}'s offsets failed: ${payload.error.message}`)));
      // A member that joined after the idle check shares the partitions: a commit names only those
      // a member holds (kafkajs-fixes.ts), so the rest would be dropped without a word.
      let held = new Set<string>();
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        held = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => `${p} ${topic}`)));
      });
      // After the first fetch the runner is up (a commit before that is silently dropped).
      let committed = false;
      consumer.on(consumer.events.FETCH, () => {
        if (committed) return;
        committed = true;
        const elsewhere = offsets.filter((o) => !held.has(`${o.partition} ${o.topic}`));
        if (elsewhere.length > 0) {
          settle(new Error(`${groupId} has another member now (${elsewhere.length} of its partitions went to it): stop every consumer of the group and run this again`));
          return;
        }
        void (async () => {
          if (recompute) offsets = await recompute();
          await consumer.commitOffsets(offsets);
        })().then(() => settle(), settle);
      });
      // Nothing is consumed: batches are dropped unresolved and never committed (pausing every
      // topic instead makes kafkajs 2.2.4 crash-loop with "No broker available").
      consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined }).catch(settle);
    });
  } finally {
    await consumer.stop().catch(() => undefined);
    await consumer.disconnect();
  }
  // kafkajs retries a commit that met a rebalance, and a retry names only the partitions the member
  // still holds (kafkajs-fixes.ts): read back what the group has, rather than trust the promise.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = [...new Set(offsets.map((o) => o.topic))];
    const now = new Map(
      (await admin.fetchOffsets({ groupId, topics })).flatMap(({ topic, partitions }) => partitions.map((p) => [`${p.partition} ${topic}`, p] as const)),
    );
    const missed = offsets.filter((o) => {
      const p = now.get(`${o.partition} ${o.topic}`);
      return p?.offset !== o.offset || (o.metadata !== undefined && (p.metadata || null) !== o.metadata);
    });
    if (missed.length > 0) {
      throw new Error(`${groupId} got another member while its offsets moved (${missed.length} of ${offsets.length} not as asked): stop every consumer of the group and run this again`);
    }
  } finally {
    await admin.disconnect();
  }
}
