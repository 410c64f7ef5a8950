import { ConfigService } from '@nestjs/config';
import { Environment, validateEnvironment } from '../config/environment';
import { KafkaNaming } from './kafka-naming';
import { TopicProvisioner } from './topic-provisioner';

/**
 * The replication factor of the topics the app creates. The clusters here are a fake admin client
 * (this machine runs one broker; a three-broker cluster cannot be had here): what is checked is what
 * the provisioner asks the broker for.
 */
describe('TopicProvisioner replication factor (clusters of 1, 2 and 3+ brokers faked: one broker here)', () => {
  function provisioner(env: Record<string, string>, brokers: number) {
    const created: { topic: string; replicationFactor?: number }[] = [];
    const admin = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      listTopics: async () => [],
      describeCluster: async () => ({ brokers: Array.from({ length: brokers }, (_, nodeId) => ({ nodeId, host: 'b', port: 9092 })), controller: 0, clusterId: 'c' }),
      createTopics: async ({ topics }: { topics: { topic: string; replicationFactor?: number }[] }) => {
        created.push(...topics);
        return true;
      },
    };
    const config = new ConfigService<Environment, true>(validateEnvironment(env));
    const p = new TopicProvisioner(config, new KafkaNaming('', ''));
    (p as unknown as { kafka: { admin: () => typeof admin } }).kafka = { admin: () => admin };
    return { p, created };
  }

  it.each([
    [1, 1],
    [2, 2],
    [3, 3],
    [5, 3],
  ])('unset, a cluster of %i broker(s) gets topics of %i replica(s)', async (brokers, replicas) => {
    const { p, created } = provisioner({}, brokers);
    await p.ensure(['order.placed', 'order.retry.1']);
    expect(created.map((t) => [t.topic, t.replicationFactor])).toEqual([
      ['order.placed', replicas],
      ['order.retry.1', replicas],
    ]);
  });

  it('KAFKA_REPLICATION_FACTOR wins over the cluster size', async () => {
    const { p, created } = provisioner({ KAFKA_REPLICATION_FACTOR: '2' }, 5);
    await p.ensure(['order.placed']);
    expect(created.map((t) => t.replicationFactor)).toEqual([2]);
  });
});
