import { EventEmitter } from 'node:events';
import { Consumer, Kafka } from 'kafkajs';
import { KafkaNaming } from './kafka-naming';
import { KafkaProducer } from './kafka-producer';
import { ModuleKafkaServer } from './module-kafka.server';
import { TopicProvisioner } from './topic-provisioner';

/**
 * The consumer's life cycle against a stub kafkajs client (mocked: a broker cannot be made to crash
 * a consumer for good on cue, nor to hold a start-up at a chosen await). What each test counts is
 * how many consumers the server makes, and which of them it leaves connected.
 */
class StubConsumer extends EventEmitter {
  readonly events = {
    GROUP_JOIN: 'join',
    CRASH: 'crash',
    REBALANCING: 'rebalancing',
    STOP: 'stop',
    FETCH_START: 'fetch_start',
    HEARTBEAT: 'heartbeat',
    COMMIT_OFFSETS: 'commit_offsets',
  };
  /** Each commit asked for; `sendCommits` says whether the broker takes it (kafkajs emits COMMIT_OFFSETS) or kafkajs drops it unsent. */
  commits: unknown[] = [];
  sendCommits = true;
  async commitOffsets(offsets: unknown): Promise<void> {
    this.commits.push(offsets);
    if (this.sendCommits) this.emit('commit_offsets', {});
  }
  connected = false;
  constructor(private readonly onRun: (c: StubConsumer) => void) {
    super();
  }
  async connect(): Promise<void> {
    this.connected = true;
  }
  async subscribe(): Promise<void> {}
  runConfig?: { eachBatch: (payload: unknown) => Promise<void> };
  async run(config: { eachBatch: (payload: unknown) => Promise<void> }): Promise<void> {
    this.runConfig = config;
    this.onRun(this);
  }
  async disconnect(): Promise<void> {
    this.connected = false;
  }
  crash(): void {
    this.emit('crash', { payload: { error: new Error('not authorized to join the group'), restart: false } });
  }
}

function serverWith(onRun: (c: StubConsumer) => void, ensure: () => Promise<void> = async () => undefined, producer = {} as KafkaProducer) {
  const consumers: StubConsumer[] = [];
  const kafka = {
    consumer: () => {
      const c = new StubConsumer(onRun);
      consumers.push(c);
      return c as unknown as Consumer;
    },
  } as unknown as Kafka;
  const server = new ModuleKafkaServer({
    module: 'email',
    kafka,
    naming: new KafkaNaming('unit.', 'unit.'),
    producer,
    topics: { ensure, retryTopicsAbove: async () => [] } as unknown as TopicProvisioner,
    partitionsConsumedConcurrently: 1,
    retries: 0,
    retryBackoffMs: 10,
    retryDelaysMs: [],
    batchMaxEvents: 1,
    batchMaxMs: 10,
    batchLockTimeoutMs: 100,
  });
  return { server, consumers };
}

const listen = (server: ModuleKafkaServer) => new Promise<void>((resolve, reject) => server.listen((e) => (e ? reject(e as Error) : resolve())));

describe(ModuleKafkaServer.name, () => {
  afterEach(() => jest.useRealTimers());

  it('waits longer before each fresh consumer while every one crashes for good, with a stub kafkajs client', async () => {
    jest.useFakeTimers();
    let runs = 0;
    // At most 20 crashes: without a wait, fresh consumers would follow each other without end.
    const { server, consumers } = serverWith((c) => ++runs <= 20 && c.crash());
    await listen(server);
    await jest.advanceTimersByTimeAsync(0);
    expect(consumers).toHaveLength(1);
    // 500 ms, then 1 s, then 2 s between fresh consumers; before, a new one followed each crash at once.
    await jest.advanceTimersByTimeAsync(499);
    expect(consumers).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(consumers).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(999);
    expect(consumers).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(consumers).toHaveLength(3);
    await server.close();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(consumers).toHaveLength(3);
    expect(consumers.some((c) => c.connected)).toBe(false);
  });

  it('starts over from 500 ms once a consumer joins its group, with a stub kafkajs client', async () => {
    jest.useFakeTimers();
    let runs = 0;
    const { server, consumers } = serverWith((c) => {
      if (++runs === 3) c.emit('join', { payload: { memberAssignment: {} } });
      if (runs <= 20) c.crash();
    });
    await listen(server);
    await jest.advanceTimersByTimeAsync(500 + 1000); // two crashes: the third consumer joins, then crashes
    expect(consumers).toHaveLength(3);
    await jest.advanceTimersByTimeAsync(500);
    expect(consumers).toHaveLength(4);
    await server.close();
  });

  it('leaves no consumer connected when closed while its start waits for the topics, with a stub kafkajs client', async () => {
    let topicsReady!: () => void;
    const { server, consumers } = serverWith(
      () => undefined,
      () => new Promise<void>((resolve) => (topicsReady = resolve)),
    );
    await listen(server);
    await server.close();
    topicsReady();
    await new Promise((r) => setImmediate(r));
    expect(consumers.filter((c) => c.connected)).toEqual([]);
    expect(server.consumerState).toBe('stopped');
  });

  it('is stalled when one loop stops moving on while kafkajs still fetches and heartbeats (several brokers), with a stub kafkajs client', async () => {
    jest.useFakeTimers();
    // The loop blocks in a send that never answers (parking an undecodable retry: a stand-in for a lock wait).
    const producer = { send: () => new Promise<never>(() => undefined) } as unknown as KafkaProducer;
    const { server, consumers } = serverWith((c) => c.emit('join', { payload: { memberAssignment: {} } }), undefined, producer);
    await listen(server);
    await jest.advanceTimersByTimeAsync(0);
    const [consumer] = consumers;
    expect(server.consumerState).toBe('joined');
    const heartbeat = jest.fn(async () => undefined);
    void consumer.runConfig!.eachBatch({
      batch: { topic: 'unit.email.retry.1', partition: 0, messages: [{ offset: '0', key: null, value: Buffer.from('not json'), headers: {}, timestamp: '0' }] },
      resolveOffset: () => undefined,
      heartbeat,
      isRunning: () => true,
      isStale: () => false,
      pause: () => () => undefined,
    });
    // Another broker's fetcher keeps going: fetches and heartbeats every second.
    for (let s = 0; s < 11; s++) {
      consumer.emit('fetch_start', {});
      consumer.emit('heartbeat', {});
      await jest.advanceTimersByTimeAsync(1000);
    }
    expect(server.consumerState).toBe('stalled');
    expect(server.consumerError).toMatch(/a handler has not moved on for \d+ ms/);
    // The move that hangs still asks kafkajs for a heartbeat every second: the member keeps its partitions.
    expect(heartbeat.mock.calls.length).toBeGreaterThanOrEqual(9);
    // close() waits a while for the blocked delivery, then gives up on it.
    const closing = server.close();
    await jest.advanceTimersByTimeAsync(10_000);
    await closing;
  });

  it('commits again offsets kafkajs dropped unsent (its runner not running: it resolves all the same), with a stub kafkajs client', async () => {
    jest.useFakeTimers();
    const producer = { send: async () => undefined } as unknown as KafkaProducer;
    const { server, consumers } = serverWith((c) => c.emit('join', { payload: { memberAssignment: { 'unit.email.retry.1': [0] } } }), undefined, producer);
    await listen(server);
    await jest.advanceTimersByTimeAsync(0);
    const [consumer] = consumers;
    consumer.sendCommits = false; // a crash being handled: kafkajs' runner is stopped
    // An undecodable retry is parked, and the offset past it committed at once.
    await consumer.runConfig!.eachBatch({
      batch: { topic: 'unit.email.retry.1', partition: 0, messages: [{ offset: '4', key: null, value: Buffer.from('not json'), headers: {}, timestamp: '0' }] },
      resolveOffset: () => undefined,
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => false,
      pause: () => () => undefined,
    });
    await jest.advanceTimersByTimeAsync(0);
    expect(consumer.commits).toHaveLength(1);
    consumer.sendCommits = true; // running again
    await jest.advanceTimersByTimeAsync(1000);
    expect(consumer.commits).toHaveLength(2);
    expect(consumer.commits[1]).toEqual([{ topic: 'unit.email.retry.1', partition: 0, offset: '5' }]);
    // Taken this time: nothing more is sent.
    await jest.advanceTimersByTimeAsync(5000);
    expect(consumer.commits).toHaveLength(2);
    await server.close();
  });
});
