import { Kafka } from 'kafkajs';
import { replayableTopics, resetGroupOffsets } from './consumer-offsets';
import { KafkaNaming } from './kafka-naming';

describe(replayableTopics.name, () => {
  it('keeps the event topics a group has offsets for and leaves its retry topics out', () => {
    const naming = new KafkaNaming('shop.', 'shop.');
    const committed = ['shop.order.placed', 'shop.email.retry.1', 'shop.order.confirmed', 'shop.email.retry.2'];
    expect(replayableTopics(committed, naming)).toEqual(['shop.order.placed', 'shop.order.confirmed']);
  });
});

describe(`${resetGroupOffsets.name} (stub kafkajs client)`, () => {
  /** A group with no members, one topic of one partition, and a consumer whose join crashes. */
  function crashingKafka() {
    const listeners = new Map<string, (e: { payload: { error: Error } }) => void>();
    const admin = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      describeGroups: async () => ({ groups: [{ groupId: 'g', state: 'Empty', members: [] }] }),
      listTopics: async () => ['t'],
      fetchOffsets: async () => [{ topic: 't', partitions: [{ partition: 0, offset: '2' }] }],
      fetchTopicOffsets: async () => [{ partition: 0, offset: '3', high: '3', low: '0' }],
    };
    const consumer = {
      events: { CRASH: 'consumer.crash', FETCH: 'consumer.fetch' },
      connect: async () => undefined,
      subscribe: async () => undefined,
      on: (event: string, listener: (e: { payload: { error: Error } }) => void) => void listeners.set(event, listener),
      // As kafkajs 2.2.4 does when the join fails: run() resolves, the consumer crashes and stays stopped.
      run: async () => void setImmediate(() => listeners.get('consumer.crash')?.({ payload: { error: new Error('The coordinator is not available') } })),
      stop: async () => undefined,
      disconnect: async () => undefined,
    };
    return { admin: () => admin, consumer: () => consumer } as unknown as Kafka;
  }

  it('fails, naming the cause, when the consumer that commits crashes (it used to wait for ever, and the CLI exited 0)', async () => {
    await expect(resetGroupOffsets(crashingKafka(), 'g', ['t'], 'earliest')).rejects.toThrow(/moving g's offsets failed: The coordinator is not available/);
  });
});
