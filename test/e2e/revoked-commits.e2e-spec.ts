import { randomBytes } from 'node:crypto';
import { Consumer, Kafka } from 'kafkajs';
import { commitAsGroup } from '../../src/platform/kafka/consumer-offsets';
import { createKafka } from '../../src/platform/kafka/kafka-client';
import { expectEventually } from '../support/eventually';
import { createTopic } from '../support/kafka';

/**
 * kafkajs retries a failed offset commit with the same offsets, under the group's generation of the
 * moment: after a rejoin, that attempt names partitions another member now holds, and the broker
 * takes it, moving the new holder's offset back. The app's clients (kafka-client.ts) commit only
 * what the member holds (kafkajs-fixes.ts). The retry after a rejoin is what the test sends straight:
 * a commit of a revoked partition by a member of the current generation, against a real broker.
 */
describe('offset commits of a member whose partitions moved to another', () => {
  const brokers = process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:19092';
  const id = randomBytes(4).toString('hex');
  const topic = `t${id}.revoked-commits`;
  const groupId = `t${id}.revoked-commits-group`;
  let kafka: Kafka;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    kafka = createKafka({ KAFKA_BROKERS: brokers, KAFKA_CLIENT_ID: 'e2e-revoked' }, 'commits');
    await createTopic(kafka, topic, 2);
    // Ten events in each partition: a committed offset past a partition's end is reset by kafkajs.
    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 10 }, (_, i) => ({ value: String(i) }));
    await producer.send({ topic, messages: [0, 1].flatMap((partition) => messages.map((m) => ({ ...m, partition }))) });
    await producer.disconnect();
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
  });

  /** A member of the group that handles nothing; `held` is what its last join gave it. */
  async function member(group = groupId): Promise<{ consumer: Consumer; held: () => number[] }> {
    const consumer = kafka.consumer({ groupId: group, heartbeatInterval: 500, sessionTimeout: 10_000, rebalanceTimeout: 10_000 });
    consumers.push(consumer);
    let held: number[] = [];
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => (held = payload.memberAssignment[topic] ?? []));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: async () => undefined });
    return { consumer, held: () => held };
  }

  async function committed(group = groupId): Promise<Record<number, string>> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [{ partitions }] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return Object.fromEntries(partitions.map((p) => [p.partition, p.offset]));
    } finally {
      await admin.disconnect();
    }
  }

  it('commits what the member holds, and drops the offsets of a partition the rebalance gave to another member', async () => {
    const a = await member();
    await expectEventually(() => expect(a.held().sort()).toEqual([0, 1]), 30_000, 100);
    const b = await member();
    await expectEventually(() => {
      expect(a.held()).toHaveLength(1);
      expect(b.held()).toHaveLength(1);
    }, 30_000, 100);
    const [mine] = a.held();
    const [theirs] = b.held();
    await b.consumer.commitOffsets([{ topic, partition: theirs, offset: '5' }]);

    // The first member, in the new generation, commits its own partition and (late) the one it lost.
    await a.consumer.commitOffsets([
      { topic, partition: mine, offset: '3' },
      { topic, partition: theirs, offset: '1' },
    ]);

    expect(await committed()).toEqual({ [mine]: '3', [theirs]: '5' });
  });

  it('a replay that finds another member in the group when it joins fails, and moves no offset, instead of committing only its share', async () => {
    const group = `${groupId}-replay`;
    const live = await member(group);
    await expectEventually(() => expect(live.held().sort()).toEqual([0, 1]), 30_000, 100);
    await live.consumer.commitOffsets([0, 1].map((partition) => ({ topic, partition, offset: '7' })));
    const before = await committed(group);
    expect(before).toEqual({ 0: '7', 1: '7' });
    // The replay's join makes it the second member: it gets one partition of two.
    await expect(
      commitAsGroup(kafka, group, [
        { topic, partition: 0, offset: '0' },
        { topic, partition: 1, offset: '0' },
      ]),
    ).rejects.toThrow(/another member now/);
    expect(await committed(group)).toEqual(before);
  });
});
