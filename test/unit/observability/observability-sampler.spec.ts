import { ConfigService } from '@nestjs/config';
import { Environment, validateEnvironment } from '../../../src/platform/config/environment';
import { KafkaNaming } from '../../../src/platform/kafka/kafka-naming';
import { KafkaRegistry } from '../../../src/platform/kafka/kafka-registry';
import { Metrics } from '../../../src/platform/observability/metrics';
import { ObservabilitySampler, SAMPLE_TIMEOUT_MS } from '../../../src/platform/observability/observability-sampler';

/** The sampler against a stub Kafka admin client and stub outbox relays (no broker or database here). */
describe(`${ObservabilitySampler.name} (stub admin client and relays)`, () => {
  const naming = new KafkaNaming('t.', 't.');
  const config = { get: (key: keyof Environment) => validateEnvironment({})[key] } as unknown as ConfigService<Environment, true>;
  const never = () => new Promise<never>(() => undefined);

  interface Stubs {
    topicOffsets?: (topic: string) => Promise<{ partition: number; high: string; low: string }[]>;
    backlog?: Partial<Record<'order' | 'email', () => Promise<{ count: number; oldestAgeMs: number }>>>;
    connect?: () => Promise<void>;
  }

  function sampler(stubs: Stubs = {}) {
    const metrics = new Metrics(naming);
    const registry = new KafkaRegistry();
    for (const module of ['order', 'email'] as const) {
      registry.servers.set(module, { groupId: `t.${module}`, subscriptions: () => [`t.${module}.events`] } as never);
      registry.relays.set(module, { backlog: stubs.backlog?.[module] ?? (async () => ({ count: 3, oldestAgeMs: 2000 })) } as never);
    }
    const admin = {
      connect: jest.fn(stubs.connect ?? (async () => undefined)),
      disconnect: jest.fn(async () => undefined),
      fetchOffsets: async () => [],
      fetchTopicOffsets: stubs.topicOffsets ?? (async () => [{ partition: 0, high: '10', low: '0' }]),
    };
    const subject = new ObservabilitySampler(metrics, registry, naming, config);
    (subject as unknown as { kafka: { admin: () => typeof admin } }).kafka = { admin: () => admin };
    const series = async (name: string) =>
      ((await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name)?.values ?? []).map((v) => [v.labels.module ?? v.labels.sample, v.value]);
    return { subject, admin, series };
  }

  afterEach(() => jest.useRealTimers());

  it('keeps the modules it could sample when one module’s topics cannot be read, and counts the failure', async () => {
    const { subject, series } = sampler({
      topicOffsets: async (topic) => {
        if (topic.startsWith('t.email.')) throw new Error('This server does not host this topic-partition');
        return [{ partition: 0, high: '10', low: '0' }];
      },
    });
    await subject.sample();
    expect(await series('kafka_consumer_lag')).toEqual([['order', 10]]);
    expect(await series('kafka_dlq_messages')).toEqual([['order', 10]]);
    expect(await series('observability_sample_errors_total')).toEqual([['kafka', 1]]);
  });

  it('gives up on an outbox read that hangs after SAMPLE_TIMEOUT_MS: its gauges go, the others stay', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { subject, series } = sampler({ backlog: { order: never } });
    const sampled = subject.sample();
    await jest.advanceTimersByTimeAsync(SAMPLE_TIMEOUT_MS);
    await sampled;
    expect(await series('outbox_backlog_events')).toEqual([['email', 3]]);
    expect(await series('observability_sample_errors_total')).toEqual([['outbox', 1]]);
  });

  it('gives up on a broker that takes the connection and never answers, and closes that client', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { subject, admin, series } = sampler({ connect: never });
    const sampled = subject.sample();
    await jest.advanceTimersByTimeAsync(SAMPLE_TIMEOUT_MS);
    await sampled;
    expect(admin.disconnect).toHaveBeenCalledTimes(1);
    expect(await series('observability_sample_errors_total')).toEqual([['kafka', 1]]);
    expect(await series('kafka_consumer_lag')).toEqual([]);
  });

  it('does not hold up shutdown for a sample that hangs', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { subject } = sampler({ backlog: { order: never, email: never }, topicOffsets: never });
    subject.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(1);
    let stopped = false;
    const stopping = subject.onApplicationShutdown().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(2_000);
    await stopping;
    expect(stopped).toBe(true);
  });
});
