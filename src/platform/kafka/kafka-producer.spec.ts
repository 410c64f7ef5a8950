import { assertEveryPartitionAnswered, chunksOf, OutgoingMessage, PRODUCER_CONFIG, recordingPartitioner } from './kafka-producer';

describe(chunksOf.name, () => {
  const message = (n: number, bytes: number): OutgoingMessage => ({ topic: 't', key: `k${n}`, value: 'v'.repeat(bytes) });

  it('keeps the messages in order, in runs of at most the byte limit, a larger message alone', () => {
    const messages = [message(1, 400), message(2, 400), message(3, 400), message(4, 5000), message(5, 100)];
    const chunks = chunksOf(messages, 1000);
    expect(chunks.map((c) => c.map((m) => m.key))).toEqual([['k1', 'k2'], ['k3'], ['k4'], ['k5']]);
    expect(chunks.flat()).toEqual(messages);
  });

  it('sends a small batch as one request', () => {
    const messages = Array.from({ length: 500 }, (_, n) => message(n, 600));
    expect(chunksOf(messages)).toHaveLength(1);
  });
});

/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any */
describe('PRODUCER_CONFIG against kafkajs 2.2.4’s own send path (a stub broker that follows Kafka’s idempotence rule: a broker cannot be made to lose an answer on cue)', () => {
  const kafkajs = (path: string) => require(`kafkajs/src/${path}`);

  /** Sends A, whose first request the broker writes but whose answer is lost, then B while A waits to retry. */
  async function aAnswerLost(idempotent: boolean): Promise<{ written: string[]; outcomes: string[] }> {
    const logger = kafkajs('loggers').createLogger({ level: 0, logCreator: () => () => undefined });
    const written: string[] = [];
    const outcomes: string[] = [];
    const cached: [number, number][] = [];
    let calls = 0;
    const broker = {
      nodeId: 0,
      initProducerId: async () => ({ producerId: 7, producerEpoch: 0 }),
      produce: async ({ producerId, topicData }: any) => {
        const p = topicData[0].partitions[0];
        const [first, last] = [p.firstSequence, p.firstSequence + p.messages.length - 1];
        const values = p.messages.map((m: { value: string }) => m.value).join();
        if (producerId !== -1 && cached.some(([f, l]) => f === first && l === last)) outcomes.push(`${values}: duplicate, not written`);
        else {
          written.push(values);
          if (producerId !== -1) cached.push([first, last]);
          outcomes.push(`${values}: written`);
        }
        if (++calls === 1) throw new (kafkajs('errors').KafkaJSConnectionError)('connection closed after the append');
        return { topics: [{ topicName: 't', partitions: [{ partition: 0, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' }] }] };
      },
    };
    const cluster = {
      refreshMetadataIfNecessary: async () => undefined,
      refreshMetadata: async () => undefined,
      isConnected: () => true,
      connect: async () => undefined,
      findTopicPartitionMetadata: () => [{ partitionId: 0, leader: 0 }],
      findLeaderForPartitions: () => ({ 0: [0] }),
      findBroker: async () => broker,
      findControllerBroker: async () => broker,
      addMultipleTargetTopics: async () => undefined,
      removeBroker: () => undefined,
    };
    const eosManager = kafkajs('producer/eosManager')({ logger, cluster, transactionTimeout: 60_000, transactional: false });
    if (idempotent) await eosManager.initProducerId();
    const send = kafkajs('producer/sendMessages')({
      logger,
      cluster,
      partitioner: () => 0,
      eosManager,
      retrier: kafkajs('retry')({ retries: 3, initialRetryTime: 50, maxRetryTime: 100 }),
    });
    const a = send({ acks: -1, topicMessages: [{ topic: 't', messages: [{ key: 'k1', value: 'A' }] }] });
    await new Promise((r) => setTimeout(r, 5));
    const b = send({ acks: -1, topicMessages: [{ topic: 't', messages: [{ key: 'k2', value: 'B' }] }] });
    await Promise.all([a, b]);
    return { written, outcomes };
  }

  it('writes B when A’s answer was lost: A twice (the inboxes absorb the copy), B once', async () => {
    expect(PRODUCER_CONFIG.idempotent).toBe(false);
    const { written } = await aAnswerLost(PRODUCER_CONFIG.idempotent!);
    expect(written.sort()).toEqual(['A', 'A', 'B']);
  });

  it('(why) with kafkajs’ idempotent producer, B takes A’s sequence number back and is acknowledged without being written', async () => {
    const { written, outcomes } = await aAnswerLost(true);
    // A's retry then takes the next number and is written a second time; B is lost though both sends resolved.
    expect(written).not.toContain('B');
    expect(outcomes).toContain('B: duplicate, not written');
  });
});

describe(`${assertEveryPartitionAnswered.name} against kafkajs 2.2.4’s own send path (two stub brokers: a leader cannot be moved on cue)`, () => {
  const kafkajs = (path: string) => require(`kafkajs/src/${path}`);

  it('throws when kafkajs resolves a batch whose partition moved to a broker that had answered (never sent, tulios/kafkajs#1303)', async () => {
    const logger = kafkajs('loggers').createLogger({ level: 0, logCreator: () => () => undefined });
    const partitionMetadata = [
      { partitionId: 0, leader: 2 },
      { partitionId: 1, leader: 1 },
    ];
    const partitioner = recordingPartitioner();
    // Two keys the Java client's murmur2 puts on partitions 0 and 1.
    const probe = (key: string) => partitioner({ topic: 't', partitionMetadata, message: { key, value: '' } } as any);
    const keys = Array.from({ length: 50 }, (_, i) => `order-${i}`);
    const [onP0, onP1] = [keys.find((k) => probe(k) === 0)!, keys.find((k) => probe(k) === 1)!];
    const written: string[] = [];
    let leaderOfP1 = 1;
    const broker = (nodeId: number) => ({
      nodeId,
      produce: async ({ topicData }: any) => {
        const parts = topicData[0].partitions;
        if (nodeId === 1 && leaderOfP1 === 1) {
          leaderOfP1 = 2; // a rolling restart: partition 1's leadership moves to broker 2
          throw kafkajs('protocol/error').createErrorFromCode(6); // NOT_LEADER_FOR_PARTITION
        }
        for (const p of parts) written.push(`p${p.partition}`);
        return { topics: [{ topicName: 't', partitions: parts.map((p: any) => ({ partition: p.partition, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' })) }] };
      },
    });
    const [b1, b2] = [broker(1), broker(2)];
    const cluster = {
      refreshMetadataIfNecessary: async () => undefined,
      refreshMetadata: async () => undefined,
      isConnected: () => true,
      connect: async () => undefined,
      addMultipleTargetTopics: async () => undefined,
      removeBroker: () => undefined,
      findTopicPartitionMetadata: () => partitionMetadata,
      findLeaderForPartitions: (_: string, parts: string[]) => {
        const byLeader: Record<number, number[]> = {};
        for (const p of parts.map(Number)) (byLeader[p === 1 ? leaderOfP1 : 2] ??= []).push(p);
        return byLeader;
      },
      findBroker: async ({ nodeId }: { nodeId: number }) => (nodeId === 1 ? b1 : b2),
    };
    const eosManager = kafkajs('producer/eosManager')({ logger, cluster, transactionTimeout: 60_000, transactional: false });
    const send = kafkajs('producer/sendMessages')({ logger, cluster, partitioner, eosManager, retrier: kafkajs('retry')({ retries: 3, initialRetryTime: 20, maxRetryTime: 50 }) });
    const topicMessages = [{ topic: 't', messages: [{ key: onP0, value: 'A' }, { key: onP1, value: 'B' }] }];

    const answered = await send({ acks: -1, topicMessages });
    // kafkajs resolved, having written partition 0 only.
    expect(written).toEqual(['p0']);
    expect(() => assertEveryPartitionAnswered(topicMessages, answered)).toThrow(/without an answer for t\[1\].*kafkajs#1303/);
    // Answered for both: nothing to say.
    const both = [{ topicName: 't', partition: 0 }, { topicName: 't', partition: 1 }] as any;
    expect(() => assertEveryPartitionAnswered(topicMessages, both)).not.toThrow();
    // A message whose partition changed between attempts (partitions added meanwhile) cannot be vouched for.
    const three = [...partitionMetadata, { partitionId: 2, leader: 2 }];
    const onThree = (key: string) => partitioner({ topic: 't', partitionMetadata: three, message: { key, value: '' } } as any);
    const key = keys.find((k) => onThree(k) !== probe(k))!;
    const message = { key, value: 'C' };
    partitioner({ topic: 't', partitionMetadata, message } as any);
    partitioner({ topic: 't', partitionMetadata: three, message } as any);
    expect(() => assertEveryPartitionAnswered([{ topic: 't', messages: [message] }], [...both, { topicName: 't', partition: 2 }])).toThrow(/without an answer/);
  });
});
