import { KafkaNaming } from '../../../src/platform/kafka/kafka-naming';
import { Metrics } from '../../../src/platform/observability/metrics';
import { consumerLag, oncePerTopic, OffsetsReader, topicDepth } from '../../../src/platform/observability/observability-sampler';

describe(Metrics.name, () => {
  const value = async (metrics: Metrics, name: string, labels: Record<string, string>) => {
    const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name)!;
    return metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  };

  it('counts what the transport reports, by module and logical topic', async () => {
    const metrics = new Metrics(new KafkaNaming('t1.', 't1.'));
    metrics.published('order', 't1.order.placed', 3);
    metrics.handled('warehouse', 'order.placed', 12);
    metrics.failed('warehouse', 'order.placed', new Error('db down'), true);
    metrics.failed('warehouse', 'order.placed', new Error('db down'), false);
    metrics.deadLettered('warehouse', 't1.order.placed', 'HANDLER.FAILED');

    expect(await value(metrics, 'kafka_events_produced_total', { module: 'order', topic: 'order.placed' })).toBe(3);
    expect(await value(metrics, 'kafka_events_consumed_total', { module: 'warehouse', outcome: 'handled' })).toBe(1);
    expect(await value(metrics, 'kafka_events_consumed_total', { module: 'warehouse', outcome: 'dead_lettered' })).toBe(1);
    expect(await value(metrics, 'kafka_handler_errors_total', { module: 'warehouse', type: 'order.placed' })).toBe(2);
    expect(await value(metrics, 'kafka_handler_retries_total', { module: 'warehouse', type: 'order.placed' })).toBe(1);
    expect(await value(metrics, 'kafka_dlq_writes_total', { module: 'warehouse', code: 'HANDLER.FAILED' })).toBe(1);
  });

  it('bounds label values: unknown types, foreign topics, odd methods and unmatched routes collapse', async () => {
    const metrics = new Metrics(new KafkaNaming('t1.', 't1.'));
    metrics.handled('email', 'order.whatever-' + Math.random(), 1);
    metrics.published('order', 'someone-elses-topic', 1);
    metrics.httpResponse('PROPFIND', undefined, 404, 3);

    expect(await value(metrics, 'kafka_events_consumed_total', { type: undefined as never, topic: 'unknown' })).toBe(1);
    expect(await value(metrics, 'kafka_events_produced_total', { topic: 'other' })).toBe(1);
    expect(await value(metrics, 'http_requests_total', { method: 'OTHER', route: 'unmatched', status_code: '404' })).toBe(1);
  });
});

describe(`${consumerLag.name} (stub offsets reader)`, () => {
  const reader = (committed: Record<string, [number, string][]>, ends: Record<string, [number, string, string][]>): OffsetsReader =>
    ({
      fetchOffsets: async ({ topics }: { topics: string[] }) =>
        topics.map((topic) => ({ topic, partitions: (committed[topic] ?? []).map(([partition, offset]) => ({ partition, offset })) })),
      fetchTopicOffsets: async (topic: string) =>
        (ends[topic] ?? []).map(([partition, low, high]) => ({ partition, low, high, offset: high })),
    }) as unknown as OffsetsReader;

  it('is the end offset minus the committed one, per partition', async () => {
    const lag = await consumerLag(reader({ a: [[0, '5'], [1, '7']] }, { a: [[0, '0', '9'], [1, '0', '7']] }), 'g', ['a']);
    expect(lag).toEqual([
      { topic: 'a', partition: 0, lag: 4 },
      { topic: 'a', partition: 1, lag: 0 },
    ]);
  });

  it('counts a partition the group never committed from its earliest retained offset', async () => {
    const lag = await consumerLag(reader({ a: [[0, '-1']] }, { a: [[0, '3', '10'], [1, '0', '2']] }), 'g', ['a']);
    expect(lag).toEqual([
      { topic: 'a', partition: 0, lag: 7 },
      { topic: 'a', partition: 1, lag: 2 },
    ]);
  });

  it('counts from the earliest retained offset when retention deleted past the committed one', async () => {
    const lag = await consumerLag(reader({ a: [[0, '5']] }, { a: [[0, '100', '110']] }), 'g', ['a']);
    expect(lag).toEqual([{ topic: 'a', partition: 0, lag: 10 }]);
  });

  it('asks a topic read by several groups for its offsets once per sample', async () => {
    const asked: string[] = [];
    const base = reader({ a: [[0, '1']] }, { a: [[0, '0', '3']], b: [[0, '0', '2']] });
    const sample = oncePerTopic({ ...base, fetchTopicOffsets: (topic: string) => (asked.push(topic), base.fetchTopicOffsets(topic)) } as OffsetsReader);
    const [first, second] = await Promise.all([consumerLag(sample, 'g1', ['a', 'b']), consumerLag(sample, 'g2', ['a'])]);
    expect(asked.sort()).toEqual(['a', 'b']);
    expect(first).toEqual([
      { topic: 'a', partition: 0, lag: 2 },
      { topic: 'b', partition: 0, lag: 2 },
    ]);
    expect(second).toEqual([{ topic: 'a', partition: 0, lag: 2 }]);
  });

  it('measures a dead-letter topic by the messages it still holds', async () => {
    expect(await topicDepth(reader({}, { dlq: [[0, '0', '2'], [1, '1', '4']] }), 'dlq')).toBe(5);
  });
});
