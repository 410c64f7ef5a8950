import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Environment } from '../../../src/platform/config/environment';
import { ConsumerGroupHealthIndicator } from '../../../src/platform/health/indicators/consumer-group.indicator';
import { DatabaseHealthIndicator } from '../../../src/platform/health/indicators/database.indicator';
import { ClusterProbe, KafkaProducerHealthIndicator } from '../../../src/platform/health/indicators/kafka-producer.indicator';
import { OutboxBacklogHealthIndicator } from '../../../src/platform/health/indicators/outbox-backlog.indicator';
import { KafkaProducer } from '../../../src/platform/kafka/kafka-producer';
import { KafkaRegistry } from '../../../src/platform/kafka/kafka-registry';
import { ConsumerState, ModuleKafkaServer } from '../../../src/platform/kafka/module-kafka.server';
import { OutboxRelay } from '../../../src/platform/kafka/outbox-relay';

const indicators = new HealthIndicatorService();
const config = (values: Partial<Environment>) =>
  ({ get: (key: keyof Environment) => values[key] }) as unknown as ConfigService<Environment, true>;

describe(`${DatabaseHealthIndicator.name} (stub data source)`, () => {
  const withDataSource = (query: () => Promise<unknown>) =>
    new DatabaseHealthIndicator(indicators, { get: () => ({ query }) } as unknown as ModuleRef);

  it('is up when the module database answers SELECT 1', async () => {
    expect(await withDataSource(async () => [{ '?column?': 1 }]).check('order')).toEqual({ 'db:order': { status: 'up' } });
  });

  it('is down with the driver error’s kind and code when the database refuses; its detail (users, hosts) goes to the log once, not to the public answer', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const refused = Object.assign(new Error('password authentication failed for user "shop"'), { code: '28P01' });
    const subject = withDataSource(() => Promise.reject(refused));
    expect(await subject.check('warehouse')).toEqual({ 'db:warehouse': { status: 'down', message: 'Error 28P01 (details in the log)' } });
    await subject.check('warehouse');
    expect(warn.mock.calls.map(([line]) => line)).toEqual(['db:warehouse is down: Error: password authentication failed for user "shop"']);
    warn.mockRestore();
  });

  it('is down when the database does not answer in time', async () => {
    const result = await withDataSource(() => new Promise(() => undefined)).check('email', 50);
    expect(result['db:email']).toMatchObject({ status: 'down', message: expect.stringMatching(/did not answer within 50 ms/) });
  });
});

describe(`${KafkaProducerHealthIndicator.name} (stub producer and cluster probe)`, () => {
  const probe = (describeCluster: ClusterProbe['describeCluster']): ClusterProbe & { disconnect: jest.Mock } => ({
    connect: async () => undefined,
    disconnect: jest.fn(async () => undefined),
    describeCluster,
  });
  const cluster = async () => ({ brokers: [{ nodeId: 1, host: 'h', port: 1 }], controller: 1, clusterId: 'c' });
  const indicator = (connected: boolean, newProbe: () => ClusterProbe) =>
    new KafkaProducerHealthIndicator(indicators, { isConnected: connected } as KafkaProducer, config({}), newProbe);

  it('is up when the producer is connected and the cluster answers', async () => {
    expect(await indicator(true, () => probe(cluster)).check()).toEqual({ 'kafka:producer': { status: 'up', brokers: 1 } });
  });

  it('is down while the producer has not connected', async () => {
    const result = await indicator(false, () => probe(cluster)).check();
    expect(result).toEqual({ 'kafka:producer': { status: 'down', message: 'producer not connected' } });
  });

  it('is down when the broker is gone although kafkajs still calls the producer connected, and recovers with a fresh client', async () => {
    const failing = probe(() => Promise.reject(new Error('Connection error: ECONNREFUSED')));
    const healthy = probe(cluster);
    const clients = [failing, healthy];
    const subject = indicator(true, () => clients.shift()!);

    expect(await subject.check()).toEqual({ 'kafka:producer': { status: 'down', message: 'Error (details in the log)' } });
    expect(failing.disconnect).toHaveBeenCalled();
    expect(await subject.check()).toEqual({ 'kafka:producer': { status: 'up', brokers: 1 } });
  });

  it('is down when the cluster does not answer in time', async () => {
    const result = await indicator(true, () => probe(() => new Promise(() => undefined))).check(50);
    expect(result['kafka:producer']).toMatchObject({ status: 'down', message: expect.stringMatching(/within 50 ms/) });
  });
});

describe(`${ConsumerGroupHealthIndicator.name} (stub consumer servers)`, () => {
  const withServer = (state: ConsumerState, error?: string) => {
    const registry = new KafkaRegistry();
    registry.servers.set('email', { consumerState: state, consumerError: error, groupId: 'p.email' } as ModuleKafkaServer);
    return new ConsumerGroupHealthIndicator(indicators, registry);
  };

  it('is up when the consumer has joined its group', () => {
    expect(withServer('joined').check('email')).toEqual({ 'consumer:email': { status: 'up', group: 'p.email', state: 'joined' } });
  });

  it('is down with the kind of the crash after a kafkajs CRASH event (its message, broker addresses and all, is in the log)', () => {
    expect(withServer('crashed', 'KafkaJSNumberOfRetriesExceeded: broker kafka-0.internal:9092 gone').check('email')).toEqual({
      'consumer:email': { status: 'down', group: 'p.email', state: 'crashed', message: 'consumer is crashed: KafkaJSNumberOfRetriesExceeded' },
    });
  });

  it.each<ConsumerState>(['starting', 'rebalancing', 'stopped'])('is down while the consumer is %s', (state) => {
    expect(withServer(state).check('email')['consumer:email']).toMatchObject({ status: 'down', message: `consumer is ${state}` });
  });

  it('is down for a module whose consumer was never registered', () => {
    expect(withServer('joined').check('order')['consumer:order']).toMatchObject({ status: 'down', message: 'no consumer registered' });
  });
});

describe(`${OutboxBacklogHealthIndicator.name} (stub relays)`, () => {
  const withBacklog = (backlog: () => Promise<{ count: number; oldestAgeMs: number }>, error?: string) => {
    const registry = new KafkaRegistry();
    registry.relays.set('order', { backlog, error } as unknown as OutboxRelay);
    return new OutboxBacklogHealthIndicator(indicators, registry, config({ HEALTH_OUTBOX_MAX_AGE_MS: 30_000 }));
  };

  it('is up while the oldest waiting event is younger than the bound', async () => {
    const result = await withBacklog(async () => ({ count: 3, oldestAgeMs: 1200.4 })).check('order');
    expect(result).toEqual({ 'outbox:order': { status: 'up', backlog: 3, oldestAgeMs: 1200, maxAgeMs: 30_000 } });
  });

  it('is down, naming the age and the relay error, when the oldest event is older than the bound', async () => {
    const result = await withBacklog(async () => ({ count: 40, oldestAgeMs: 95_000 }), 'KafkaJSConnectionError').check('order');
    expect(result['outbox:order']).toMatchObject({
      status: 'down',
      backlog: 40,
      message: 'oldest outbox event is 95 s old: KafkaJSConnectionError',
    });
  });

  it('is down when the backlog cannot be read', async () => {
    const result = await withBacklog(() => Promise.reject(new Error('relation "orders.outbox" does not exist'))).check('order');
    expect(result['outbox:order']).toMatchObject({ status: 'down', message: 'Error (details in the log)' });
  });

  it('is down for a module without a running relay', async () => {
    expect((await withBacklog(async () => ({ count: 0, oldestAgeMs: 0 })).check('email'))['outbox:email']).toMatchObject({
      status: 'down',
      message: 'no outbox relay running',
    });
  });
});
