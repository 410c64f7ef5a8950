import { Admin, Kafka, logLevel } from 'kafkajs';

export function testKafka(brokers: string): Kafka {
  return new Kafka({ clientId: 'e2e-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
}

/** Sum of the latest offsets of a topic: how many messages were ever written to it. */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}
