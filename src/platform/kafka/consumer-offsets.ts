import { Admin } from 'kafkajs';

/** Where to move a consumer group: every partition's earliest retained offset, or the first offset at/after a time. */
export type ResetTarget = 'earliest' | Date;

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

export interface PartitionReset {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Moves an idle consumer group's committed offsets on `topics` to `to`, so its next start replays
 * from there. Only what the topics still retain can be replayed (see the topic retention).
 */
export async function resetGroupOffsets(admin: Admin, groupId: string, topics: string[], to: ResetTarget): Promise<PartitionReset[]> {
  await assertGroupIdle(admin, groupId);
  const existing = new Set(await admin.listTopics());
  const done: PartitionReset[] = [];
  for (const topic of topics.filter((t) => existing.has(t))) {
    const partitions =
      to === 'earliest'
        ? (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.low }))
        : // The first offset at or after the time; the end of the partition when nothing is that new.
          await admin.fetchTopicOffsetsByTimestamp(topic, to.getTime());
    await admin.setOffsets({ groupId, topic, partitions });
    done.push(...partitions.map((p) => ({ topic, partition: p.partition, offset: p.offset })));
  }
  return done;
}
