import { Kafka } from 'kafkajs';

/** Total lag of a consumer group over the topics it has committed offsets for (0 = caught up). */
export async function groupLag(kafka: Kafka, groupId: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId });
    let lag = 0;
    for (const { topic, partitions } of committed) {
      const high = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
      for (const p of partitions) lag += (high.get(p.partition) ?? 0) - Math.max(0, Number(p.offset));
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/** Moves every topic of an (empty) group back to the earliest offset: the group will read all of it again. */
export async function resetToEarliest(kafka: Kafka, groupId: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.fetchOffsets({ groupId })).map((t) => t.topic);
    for (const topic of topics) await admin.resetOffsets({ groupId, topic, earliest: true });
    return topics;
  } finally {
    await admin.disconnect();
  }
}
