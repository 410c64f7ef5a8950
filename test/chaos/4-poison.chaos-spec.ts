import { randomUUID } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { placedEnvelope, readTopics } from '../support/kafka';
import { Scenario } from './support/scenario';

const PARTITIONS = 3;
const CONSUMERS = ['warehouse', 'email', 'analytics'] as const;

describe('chaos 4: poison messages in order.placed under load', () => {
  let s: Scenario;

  afterAll(async () => {
    await s?.dispose();
  });

  it('parks garbage bytes and a wrong version in each consuming group’s DLQ and keeps every partition moving', async () => {
    s = await Scenario.start('poison');
    const load = s.load({ count: 200, perSecond: 25 });
    await s.ordersFlowing(); // poison lands between orders already flowing and the ones still to come
    const producer = s.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const poisonKeys: string[] = [];
    try {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const key = randomUUID();
        poisonKeys.push(key);
        const wrongVersion = placedEnvelope({ orderId: key, customerEmail: 'poison@example.com', sku: 'DEEP_A', unitPriceCents: 500 }, { version: 99 });
        await producer.send({
          topic: `${s.prefix}order.placed`,
          acks: -1,
          messages: [
            { partition, key, value: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]) },
            { partition, key, value: JSON.stringify(wrongVersion) },
          ],
        });
      }
    } finally {
      await producer.disconnect();
    }
    const poisoned = Date.now();
    const result = await load;
    const expectedDlq = { warehouse: 2 * PARTITIONS, email: 2 * PARTITIONS, analytics: 2 * PARTITIONS, order: 0 };
    const settled = await s.settle(result, poisoned, { expectedDlq });
    s.record(4, 'poison (garbage bytes, version 99) on every order.placed partition', result, settled);
    expect(settled.report.violations).toEqual([]);
    for (const group of CONSUMERS) {
      const parked = await readTopics(s.kafka, [`${s.prefix}${group}.dlq`], (ms) => ms.length >= 2 * PARTITIONS);
      const codes = parked.map((m) => m.message.headers!['dlq-error-code']!.toString()).sort();
      expect(codes).toEqual([...Array(PARTITIONS).fill('EVENT.UNDECODABLE'), ...Array(PARTITIONS).fill('EVENT.UNKNOWN_VERSION')]);
      expect(new Set(parked.map((m) => m.message.key!.toString()))).toEqual(new Set(poisonKeys));
    }
  });
});
