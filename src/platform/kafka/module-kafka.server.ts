import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { isObservable, lastValueFrom } from 'rxjs';
import { EventEnvelope, EventEnvelopeSchema, EVENTS, isEventType } from '../../contracts';
import { ModuleName } from '../config/environment';
import { describeError, isInfrastructureError, isMessageTooLarge, isPermanent, PermanentEventError } from './errors';
import { BatchTransaction, UUID } from './batch-transaction';
import { validateContract } from './contract-validator';
import { KafkaNaming } from './kafka-naming';
import { KafkaProducer } from './kafka-producer';
import { DeadLetterHeaders, RetryHeaders } from './transport-headers';
import { TopicProvisioner } from './topic-provisioner';
import { transportIdOf } from './module-event.decorator';
import { header, LogContext } from '../observability/log-context';
import { noopObserver, TransportObserver } from './transport-observer';

export interface ModuleKafkaServerOptions {
  module: ModuleName;
  kafka: Kafka;
  naming: KafkaNaming;
  producer: KafkaProducer;
  topics: TopicProvisioner;
  /**
   * Streams of runs per topic handled side by side: the partition batches of one fetch are spread
   * over this many (each partition stays sequential, so per-key order holds).
   */
  partitionsConsumedConcurrently: number;
  /** In-place attempts after the first failure before the event is parked. */
  retries: number;
  retryBackoffMs: number;
  /** Delays of the module's retry topics (`<module>.retry.1`, `.2`, ...) before the DLQ. */
  retryDelaysMs: number[];
  /**
   * Consecutive events of a stream (partitions of a fetch, of one topic unless runsMixTopics; see
   * gather) whose effects share one database transaction (see BatchTransaction); 1 gives every event its own transaction.
   */
  batchMaxEvents: number;
  /** A shared transaction is committed once it is this old, so its locks are never held for long. */
  batchMaxMs: number;
  /** How long an event in a shared transaction waits for a lock before the run falls back. */
  batchLockTimeoutMs: number;
  /**
   * Offsets of handled events (their effects committed) go to Kafka at most this often, in the
   * background: a run no longer waits for an offset commit before kafkajs fetches again. 0 commits
   * after every run and waits for it. Either way an offset is committed only after its effects.
   */
  commitIntervalMs?: number;
  /**
   * The module's effects on one aggregate commute across event types (analytics' facts: each field
   * is set by the first event that knows it), so a run may hold events of several topics: a fetch's
   * batches of all its topics share streams by partition number (one order's events sit on the same
   * partition number of every topic), and one order's events meet in one run instead of three runs
   * waiting for each other's locks. Off: a run holds one topic (a cancellation never shares a run
   * with the placement it undoes).
   */
  runsMixTopics?: boolean;
  /**
   * Asks whether the module's database answers (rejects when it does not). A handler failing with a
   * connection error while the probe answers is failing on its own account (a statement that gets its
   * own connection killed): after a few free attempts it spends its retry budget like any failure,
   * so it reaches the DLQ instead of waiting in place forever. Without a probe every connection
   * error counts as an outage.
   */
  dependencyProbe?: () => Promise<unknown>;
  observer?: TransportObserver;
}

/**
 * Connection errors in a row that one event may meet while the database answers before they count
 * against its retry budget: the pool replaces a connection cut by a restart, and a storm of cuts
 * (chaos scenario 3 terminates every session every 100 ms for 5 s) met no event more than 3 times in
 * a row in a run. Five, with the default backoff, waits 6.2 s.
 */
const FREE_CONNECTION_ERRORS = 5;

/** What a handler gets besides the envelope. */
export interface KafkaEventContext {
  topic: string;
  partition: number;
  offset: string;
  headers: IHeaders;
  attempt: number;
}

/**
 * `stalled`: joined, but a handler is blocked (a lock wait, a hung query) for longer than the session
 * timeout: no fetch and no heartbeat for that long (the group has put this member out without an
 * event saying so), or, with several brokers, one loop handling events has not moved on.
 */
export type ConsumerState = 'starting' | 'joined' | 'stalled' | 'rebalancing' | 'crashed' | 'stopped';

/**
 * A Nest transport that gives one module one kafkajs consumer in its own group, bound only to
 * that module's `@EventPattern` handlers (they name this server's transport id).
 *
 * Unlike Nest's stock ServerKafka it uses `eachBatch` with manual commits after the effect,
 * validates envelopes against the contracts, retries a failing handler a bounded number of times
 * (in place, then through `<module>.retry.N` once due) and then parks the event in `<module>.dlq`
 * (topic prefix), so a poison event never blocks its partition.
 */
export class ModuleKafkaServer extends Server implements CustomTransportStrategy {
  protected override readonly logger: Logger;
  private consumer?: Consumer;
  private state: ConsumerState = 'stopped';
  /** Retry topics of levels above KAFKA_RETRY_DELAYS_MS's, found on the broker when the consumer starts. */
  private retryTopicsAbove: string[] = [];
  private closing = false;
  private lastError?: string;
  private closed?: Promise<void>;
  private readonly observer: TransportObserver;
  /** Batches of an event topic (of every event topic, with runsMixTopics) delivered together, until their streams of runs start (see gather). */
  private readonly gathering = new Map<string, { batches: EachBatchPayload[]; done: Promise<void> }>();
  /** The `eachBatch` calls in progress (close() lets them finish, then commits their offsets). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Offset commits the broker took (kafkajs' COMMIT_OFFSETS events). */
  private commitsConfirmed = 0;
  /** Each loop handling events now (a stream of runs, a partition handled alone): when it last moved on. */
  private readonly workingLoops = new Set<{ movedAt: number }>();
  /** The next offset to read of each partition whose events are handled but not yet committed to Kafka. */
  private readonly pendingOffsets = new Map<string, { topic: string; partition: number; next: bigint }>();
  private commitTimer?: NodeJS.Timeout;
  private committing?: Promise<void>;
  /** The partitions assigned at the last group join (`partition topic`). */
  private assigned?: Set<string>;
  /** Retry partitions paused until their next event is due (see pauseUntilDue). */
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  /** Event-topic batches being handled one event at a time, and those waiting for a slot (see inAloneSlot). */
  private aloneActive = 0;
  private readonly aloneWaiting: (() => void)[] = [];
  /** The retry event each retry partition waits on, and when this member first read it (see dueAt). */
  private readonly waitingSince = new Map<string, { offset: string; at: number }>();
  /** Wait before a fresh consumer replaces one that crashed for good; doubles until a join succeeds. */
  private restartDelayMs = RESTART_DELAY_MS;
  private restartTimer?: NodeJS.Timeout;
  /** When kafkajs last fetched, sent a heartbeat or joined: it does neither while a handler is blocked. */
  private lastSignOfLife = 0;

  constructor(private readonly options: ModuleKafkaServerOptions) {
    super();
    this.transportId = transportIdOf(options.module);
    this.logger = new Logger(`Kafka:${options.module}`);
    this.observer = options.observer ?? noopObserver;
  }

  get groupId(): string {
    return this.options.naming.group(this.options.module);
  }

  /**
   * `stalled` while joined but stuck: kafkajs has not fetched or sent a heartbeat for a session
   * timeout (one broker: a blocked handler holds the whole consumer, and the group puts the member
   * out), or a loop handling events has not moved on for that long. With several brokers kafkajs
   * fetches from each on its own and heartbeats while the others' batches go on, so a handler blocked
   * on one partition leaves the member in its group and only that partition stops: the first test
   * alone never saw it.
   */
  get consumerState(): ConsumerState {
    return this.state === 'joined' && Math.max(this.silentForMs(), this.stuckForMs()) > SESSION_TIMEOUT_MS ? 'stalled' : this.state;
  }

  get consumerError(): string | undefined {
    if (this.consumerState === 'stalled') {
      return this.silentForMs() > SESSION_TIMEOUT_MS
        ? `no fetch or heartbeat for ${this.silentForMs()} ms: a handler is blocked, and the group has put this member out`
        : `a handler has not moved on for ${this.stuckForMs()} ms: it is blocked, and its partitions make no progress`;
    }
    return this.lastError;
  }

  private silentForMs(): number {
    return Date.now() - this.lastSignOfLife;
  }

  /** How long the loop that has gone longest without moving on has been stuck (0 when none runs). */
  private stuckForMs(): number {
    let oldest = Infinity;
    for (const { movedAt } of this.workingLoops) oldest = Math.min(oldest, movedAt);
    return oldest === Infinity ? 0 : Date.now() - oldest;
  }

  /**
   * Runs a loop that handles events with a heartbeat that also says it moved on: the loops call it
   * after each event (each run, at most every 100 ms), and while they wait out a retry's backoff or
   * a database outage, so one that stops calling it is blocked in a handler.
   */
  private async working<T>(heartbeat: Heartbeat, loop: (heartbeat: Heartbeat) => Promise<T>): Promise<T> {
    const unit = { movedAt: Date.now() };
    this.workingLoops.add(unit);
    const moved: Heartbeat & { alone?: Heartbeat } = async () => {
      unit.movedAt = Date.now();
      await heartbeat();
    };
    moved.alone = heartbeat;
    try {
      return await loop(moved);
    } finally {
      this.workingLoops.delete(unit);
    }
  }

  /** The event types this module handles (its subscriptions). */
  handledTypes(): string[] {
    return [...this.messageHandlers.keys()];
  }

  /** Starts consuming in the background: HTTP comes up even while Kafka is away. */
  listen(callback: (err?: unknown) => void): void {
    try {
      this.assertHandlersAreOurs();
    } catch (e) {
      callback(e);
      return;
    }
    this.closing = false;
    this.closed = undefined;
    void this.startConsumer();
    callback();
  }

  close(): Promise<void> {
    this.closed ??= this.disconnect();
    return this.closed;
  }

  private async disconnect(): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    const consumer = this.consumer;
    if (consumer) {
      // Fetch nothing more, let the batches in flight finish and commit what they handled while the
      // consumer still runs: kafkajs drops a commit made once disconnect() has begun.
      try {
        consumer.pause(this.subscriptions().map((topic) => ({ topic })));
      } catch {
        // not running yet: nothing in flight
      }
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
      // A commit that fails here (KAFKA_COMMIT_INTERVAL_MS=0 rethrows; commitPending logs it) must not
      // skip the disconnect below: kafkajs' restart timer would go on, and a member join after close.
      // Its events come again.
      await this.commitPending().catch(() => undefined);
    }
    clearTimeout(this.commitTimer);
    this.consumer = undefined;
    await consumer?.disconnect().catch((e: unknown) => this.logger.warn(`disconnect: ${describeError(e)}`));
    this.state = 'stopped';
  }

  on(): never {
    throw new Error('ModuleKafkaServer does not expose client events; see consumerState');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }

  /** A handler without this module's transport id would bind to every server (nestjs/nest#13421). */
  private assertHandlersAreOurs(): void {
    for (const [pattern, handler] of this.messageHandlers) {
      if (!handler.isEventHandler) {
        throw new Error(`${this.options.module}: "${pattern}" is a @MessagePattern; only events are supported`);
      }
      const owner = (handler.extras as { module?: string } | undefined)?.module;
      if (owner !== this.options.module) {
        throw new Error(
          `${this.options.module}: handler for "${pattern}" belongs to ${owner ?? 'no module'}; ` +
            'declare handlers with the module’s own event decorator so each group binds only its handlers',
        );
      }
      if (!isEventType(pattern)) throw new Error(`${this.options.module}: "${pattern}" is not an event in contracts/`);
    }
  }

  /**
   * The topics the group consumes: its handlers' event topics, then its retry topics, then retry
   * topics of levels KAFKA_RETRY_DELAYS_MS no longer has (found when the consumer starts).
   */
  subscriptions(): string[] {
    const { naming, module } = this.options;
    const retryTopics = Array.from({ length: this.retryLevels }, (_, i) => naming.retryTopic(module, i + 1));
    return [...this.handledTypes().map((t) => naming.topic(EVENTS[t as keyof typeof EVENTS].topic)), ...retryTopics, ...this.retryTopicsAbove];
  }

  /** At least `.retry.1`: it is also where a redrive from the DLQ comes back to this module alone. */
  private get retryLevels(): number {
    return Math.max(1, this.options.retryDelaysMs.length);
  }

  private async startConsumer(): Promise<void> {
    const { naming, topics, module } = this.options;
    let backoff = 500;
    // A close() while this start awaits found no consumer (or one not yet running) to stop: the
    // start stops what it made, or kafkajs' run() would connect it again and join the group.
    const stopped = async (consumer?: Consumer): Promise<boolean> => {
      if (!this.closing) return false;
      await consumer?.disconnect().catch(() => undefined);
      return true;
    };
    while (!this.closing) {
      try {
        this.state = 'starting';
        // Events retried before KAFKA_RETRY_DELAYS_MS lost levels wait there: they are due at once,
        // and parked if they fail again. Unread, they were lost without a trace (no lag, no letter).
        this.retryTopicsAbove = await topics.retryTopicsAbove(module, this.retryLevels);
        if (this.retryTopicsAbove.length > 0) {
          this.logger.warn(
            `also consuming ${this.retryTopicsAbove.join(', ')}: KAFKA_RETRY_DELAYS_MS has ${this.retryLevels} level(s) now; ` +
              'their events are due at once and parked if they fail again',
          );
        }
        const subscriptions = this.subscriptions();
        await topics.ensure([...subscriptions, naming.deadLetterTopic(module)]);
        if (await stopped()) return;
        const consumer = this.options.kafka.consumer({
          groupId: this.groupId,
          sessionTimeout: SESSION_TIMEOUT_MS,
          heartbeatInterval: 1_000,
          maxWaitTimeInMs: 500,
          allowAutoTopicCreation: false,
          // kafkajs restarts a consumer that crashed on a retriable error after its own disconnect; a
          // close() during that disconnect cleared a timer not armed yet, and a member joined after close.
          retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000, restartOnFailure: async () => !this.closing },
        });
        this.watch(consumer);
        this.consumer = consumer;
        await consumer.connect();
        if (await stopped(consumer)) return;
        await consumer.subscribe({ topics: subscriptions, fromBeginning: true });
        if (await stopped(consumer)) return;
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          // Every batch of a fetch at once, so that gather() sees them together.
          partitionsConsumedConcurrently: BATCHES_PER_DELIVERY,
          eachBatch: (payload) => this.eachBatch(payload),
        });
        if (await stopped(consumer)) return;
        this.logger.log(`consuming ${subscriptions.join(', ')} in group ${this.groupId}`);
        return;
      } catch (e) {
        this.lastError = describeError(e);
        this.state = 'crashed';
        this.logger.warn(`consumer start failed, retrying in ${backoff} ms: ${this.lastError}`);
        await this.consumer?.disconnect().catch(() => undefined);
        this.consumer = undefined;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  private watch(consumer: Consumer): void {
    const { GROUP_JOIN, CRASH, REBALANCING, STOP, FETCH_START, HEARTBEAT, COMMIT_OFFSETS } = consumer.events;
    consumer.on(COMMIT_OFFSETS, () => this.commitsConfirmed++);
    const alive = () => (this.lastSignOfLife = Date.now());
    consumer.on(FETCH_START, alive);
    consumer.on(HEARTBEAT, alive);
    consumer.on(GROUP_JOIN, ({ payload }) => {
      alive();
      this.state = 'joined';
      this.lastError = undefined;
      this.restartDelayMs = RESTART_DELAY_MS;
      // Offsets of partitions this member no longer holds are not ours to commit any more: a late
      // commit could move back an offset the new holder has committed past (their events come
      // again to it instead, and its inbox absorbs them).
      this.assigned = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => partitionKey(topic, partition))));
      for (const key of this.pendingOffsets.keys()) if (!this.assigned.has(key)) this.pendingOffsets.delete(key);
    });
    consumer.on(REBALANCING, () => {
      this.state = 'rebalancing';
      // What is handled goes to Kafka before the partitions may move (best effort: kafkajs resumes
      // each partition from its committed offset, and the inbox absorbs what is delivered again).
      void this.commitPending().catch(() => undefined); // logged; kept for the next commit
    });
    consumer.on(STOP, () => {
      if (this.closing) this.state = 'stopped';
    });
    consumer.on(CRASH, (event) => {
      this.lastError = describeError(event.payload.error);
      this.state = 'crashed';
      const line = `consumer crashed (restart: ${event.payload.restart}): ${this.lastError}`;
      if (event.payload.restart) this.logger.warn(line);
      else this.logger.error(line);
      // kafkajs restarts on retriable errors; on the others we start a fresh consumer, after a wait
      // that doubles while no join succeeds (a group this principal may not join crashes every time).
      if (!event.payload.restart && !this.closing) {
        const delay = this.restartDelayMs;
        this.restartDelayMs = Math.min(delay * 2, MAX_RESTART_DELAY_MS);
        this.logger.warn(`starting a fresh consumer in ${delay} ms`);
        void consumer.disconnect().finally(() => {
          if (this.closing) return;
          this.restartTimer = setTimeout(() => {
            if (!this.closing) void this.startConsumer();
          }, delay);
        });
      }
    });
  }

  private eachBatch(payload: EachBatchPayload): Promise<void> {
    const retryLevel = this.retryLevelOf(payload.batch.topic);
    const handled =
      retryLevel > 0
        ? this.eachMessageAlone(payload, retryLevel)
        : this.options.batchMaxEvents <= 1
          ? this.inAloneSlot(() => this.eachMessageAlone(payload, 0))
          : this.gather(payload);
    const tracked = handled.catch(() => undefined);
    this.inFlight.add(tracked);
    void tracked.then(() => this.inFlight.delete(tracked));
    return handled;
  }

  /**
   * kafkajs hands the batches of one fetch to `eachBatch` one at a time and fetches again only when
   * all of them are done. The batches of one event topic handed over together are spread over up to
   * `partitionsConsumedConcurrently` streams of runs, side by side (as many as it takes to fill their
   * runs: a backlog drains in parallel, a trickle goes in one run); a run then holds the events of
   * several partitions (each partition's in offset order): one transaction and one offset commit
   * where each partition had its own, waiting for a free slot. With `runsMixTopics` the batches of
   * every event topic are gathered together and a stream takes whole partition numbers, so a run
   * holds one order's events of several topics. Every `eachBatch` call of the delivery resolves
   * when all its streams are done, as kafkajs expects.
   */
  private gather(payload: EachBatchPayload): Promise<void> {
    const key = this.options.runsMixTopics ? '*' : payload.batch.topic;
    let gathering = this.gathering.get(key);
    if (!gathering) {
      const batches: EachBatchPayload[] = [];
      // The calls of one delivery start in the same turn of the event loop: the streams start after it.
      const done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.gathering.delete(key);
        // A stream takes whole partition numbers (of every topic gathered: one topic's batches each
        // have their own; with runsMixTopics, an order's events on every topic go to one stream).
        const partitions = [...new Set(batches.map((b) => b.batch.partition))];
        // No more streams than it takes to keep their runs full: a handful of events is one run, not three.
        const events = batches.reduce((n, b) => n + b.batch.messages.length, 0);
        const streams = Math.min(this.options.partitionsConsumedConcurrently, partitions.length, Math.ceil(events / this.options.batchMaxEvents));
        const outcomes = await Promise.allSettled(
          Array.from({ length: streams }, (_, i) => this.eachRun(batches.filter((b) => partitions.indexOf(b.batch.partition) % streams === i))),
        );
        const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
        if (failed) throw failed.reason;
      });
      gathering = { batches, done };
      this.gathering.set(key, gathering);
    }
    gathering.batches.push(payload);
    return gathering.done;
  }

  /**
   * Event-topic partitions handled one event at a time (KAFKA_BATCH_MAX_EVENTS=1): no more at once
   * than KAFKA_PARTITIONS_CONCURRENCY, as runs are. kafkajs hands over a fetch's batches together
   * (BATCHES_PER_DELIVERY), so without it every partition of a fetch took a connection at once.
   */
  private async inAloneSlot(work: () => Promise<void>): Promise<void> {
    while (this.aloneActive >= this.options.partitionsConsumedConcurrently) await new Promise<void>((r) => this.aloneWaiting.push(r));
    this.aloneActive++;
    try {
      await work();
    } finally {
      this.aloneActive--;
      this.aloneWaiting.shift()?.();
    }
  }

  /** One transaction per event: retry topics (each event handled once due) and batchMaxEvents=1. */
  private eachMessageAlone(payload: EachBatchPayload, retryLevel: number): Promise<void> {
    return this.working(payload.heartbeat, (heartbeat) => this.eachMessageAloneLoop({ ...payload, heartbeat }, retryLevel));
  }

  private async eachMessageAloneLoop({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }: EachBatchPayload, retryLevel: number): Promise<void> {
    let lastDone: string | undefined;
    let sinceCommit = 0;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.closing) break;
      const waitMs = retryLevel > 0 ? this.dueAt(batch.topic, batch.partition, message, retryLevel) - Date.now() : 0;
      if (waitMs > 0) {
        this.pauseUntilDue(pause, waitMs);
        break;
      }
      const moved = await this.handleAlone(batch.topic, batch.partition, message, retryLevel, heartbeat);
      resolveOffset(message.offset);
      lastDone = message.offset;
      if (moved) {
        this.commitNow([{ topic: batch.topic, partition: batch.partition, offset: lastDone }]);
        sinceCommit = 0;
      } else if (++sinceCommit >= 100) {
        await this.commit([{ topic: batch.topic, partition: batch.partition, offset: lastDone }]);
        sinceCommit = 0;
      }
      await heartbeat();
    }
    if (lastDone !== undefined && sinceCommit > 0) await this.commit([{ topic: batch.topic, partition: batch.partition, offset: lastDone }]);
  }

  /**
   * Event topics: runs of up to `batchMaxEvents` consecutive events of the gathered batches share one
   * database transaction, and the offsets are committed after each run commits. Anything unusual (an
   * event that does not decode, a failing effect, a failing commit) rolls the run back and handles
   * its events again one transaction each, with the usual retries, retry topics and DLQ.
   */
  private eachRun(batches: EachBatchPayload[]): Promise<void> {
    return this.working(batches[0].heartbeat, (heartbeat) => this.eachRunLoop(batches, heartbeat));
  }

  private async eachRunLoop(batches: EachBatchPayload[], heartbeat: Heartbeat): Promise<void> {
    const fetchedAt = Date.now();
    const { isRunning } = batches[0];
    // Partition by partition, each in offset order: per-key order holds within and across runs.
    const items: Item[] = batches.flatMap((from) => from.batch.messages.map((message) => ({ from, message })));
    let run: Run | undefined;
    let nextHeartbeat = 0;
    const decodedAhead: (Decoded | undefined)[] = [];
    let decodedUpTo = 0;
    /** Marks these events (of any partitions) consumed: the last offset of each partition. */
    const consumed = async (done: Item[]): Promise<void> => {
      const last = new Map<EachBatchPayload, string>();
      for (const { from, message } of done) last.set(from, message.offset);
      for (const [from, offset] of last) from.resolveOffset(offset);
      await this.commit([...last].map(([from, offset]) => ({ topic: from.batch.topic, partition: from.batch.partition, offset })));
    };
    const alone = async (events: Item[]): Promise<void> => {
      for (const { from, message } of events) {
        if (await this.handleAlone(from.batch.topic, from.batch.partition, message, 0, heartbeat)) {
          // Moved: committed now, up to it (what came before it is done too), not at the interval.
          from.resolveOffset(message.offset);
          this.commitNow([{ topic: from.batch.topic, partition: from.batch.partition, offset: message.offset }]);
        }
        await heartbeat();
      }
      await consumed(events);
    };
    const flush = async (): Promise<void> => {
      if (!run) return;
      const done = run;
      run = undefined;
      try {
        await done.transaction.commit();
      } catch (e) {
        this.fellBack('commit', e, done.events.length);
        await alone(done.events);
        return;
      }
      this.observer.runCommitted?.(this.options.module, done.events.length);
      for (const { message, envelope, ms } of done.events) {
        // Reported in each event's own log context, as if it had been handled alone.
        LogContext.forMessage(this.options.module, message.headers, () => {
          this.observer.handled(this.options.module, envelope.type, ms);
          const occurredAt = Date.parse(envelope.occurredAt);
          const sentAt = Number(message.timestamp);
          this.observer.endToEnd?.(this.options.module, envelope.type, Date.now() - occurredAt, {
            toKafka: sentAt - occurredAt,
            toTransport: fetchedAt - sentAt,
          });
        });
      }
      await consumed(done.events);
    };

    try {
      for (const [index, item] of items.entries()) {
        if (!isRunning() || this.closing) break; // closing: the open run commits, the rest is fetched again later
        const { from, message } = item;
        if (from.isStale()) continue; // its partition was revoked or sought: its other events go too
        if (index >= decodedUpTo) decodedUpTo = this.decodeAhead(items, index, decodedAhead);
        const decoded = decodedAhead[index];
        decodedAhead[index] = undefined;
        if (!decoded) {
          await flush(); // keeps offsets in order: the run before it first, then this one is parked
          await alone([item]);
          continue;
        }
        run ??= {
          transaction: this.runTransaction(items.slice(index, index + this.options.batchMaxEvents).map((i) => i.message)),
          events: [],
          startedAt: performance.now(),
        };
        const { envelope, handler } = decoded;
        const context: KafkaEventContext = { topic: from.batch.topic, partition: from.batch.partition, offset: message.offset, headers: message.headers ?? {}, attempt: 1 };
        const started = performance.now();
        try {
          const current = run;
          await current.transaction.run(() =>
            LogContext.forMessage(this.options.module, message.headers, () => this.invoke(handler, envelope, context)),
          );
          // Not `{ ...item }`: copying the object with a spread cost ~4 µs per event (profile).
          current.events.push({ from: item.from, message: item.message, envelope, ms: performance.now() - started });
        } catch (e) {
          const failed = run;
          run = undefined;
          await failed.transaction.rollback();
          this.fellBack('effect', e, failed.events.length + 1);
          await alone([...failed.events, item]);
          continue;
        }
        if (run.events.length >= this.options.batchMaxEvents || performance.now() - run.startedAt >= this.options.batchMaxMs) await flush();
        if (performance.now() >= nextHeartbeat) {
          await heartbeat();
          nextHeartbeat = performance.now() + HEARTBEAT_CHECK_MS;
        }
      }
      await flush();
    } finally {
      // Something threw out of the loop (a heartbeat during a rebalance, an offset commit): the open
      // run must not keep its connection and locks. Its effects are valid, so they are committed;
      // their offsets are not, and the inbox absorbs the redelivery.
      if (run) {
        const open = run;
        run = undefined;
        await open.transaction.commit().catch((e: unknown) => this.logger.warn(`could not commit an interrupted run: ${describeError(e)}`));
      }
    }
  }

  /**
   * Decodes a run's worth of events from `index` on, in one tight loop, into `into` (undefined for
   * one that does not decode: it goes alone, which decodes it again and parks it with the reason).
   * JSON.parse and the validators cost about 2.5× less per event this way than one event at a time
   * between handlers, whose code and data push theirs out of the CPU's caches (profile of the consumer bench).
   * Returns the index after the last one decoded.
   */
  private decodeAhead(items: Item[], index: number, into: (Decoded | undefined)[]): number {
    const end = Math.min(items.length, index + this.options.batchMaxEvents);
    for (let i = index; i < end; i++) {
      try {
        into[i] = this.decode(items[i].from.batch.topic, items[i].message);
      } catch {
        into[i] = undefined;
      }
    }
    return end;
  }

  /** The shared transaction of a run that will hold (at most) these messages: it knows their event ids and keys. */
  private runTransaction(messages: KafkaMessage[]): BatchTransaction {
    const keys = messages.map((m) => m.key?.toString()).filter((k): k is string => k !== undefined);
    return new BatchTransaction(this.options.batchLockTimeoutMs, eventIdsOf(messages), keys);
  }

  /** A shared transaction was given up: its events are handled again one transaction each. */
  private fellBack(stage: 'effect' | 'commit', error: unknown, events: number): void {
    this.observer.batchFallback?.(this.options.module, stage);
    this.logger.log(`shared transaction failed at ${stage}; handling its ${events} event(s) one by one: ${describeError(error)}`);
  }

  /** One event in its own transaction, with every log line naming its flow and event; true when it was moved. */
  private handleAlone(topic: string, partition: number, message: KafkaMessage, retryLevel: number, heartbeat: Heartbeat): Promise<boolean> {
    return LogContext.forMessage(this.options.module, message.headers, () => this.processMessage(topic, partition, message, retryLevel, heartbeat));
  }

  /**
   * Waits between attempts, asking kafkajs for a heartbeat every second: it sends one only when asked,
   * and a member silent for the session timeout (10 s) is put out of its group while it still holds
   * the event (a dependency outage waits for as long as it lasts). A heartbeat that finds the group
   * rebalancing throws, and the event is fetched again from its committed offset.
   */
  private async wait(ms: number, heartbeat: Heartbeat): Promise<void> {
    for (const until = Date.now() + ms; Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
      await heartbeat();
    }
  }

  /** Whether the dependency probe fails (always, without a probe: every connection error is an outage). */
  private async dependencyAway(): Promise<boolean> {
    const probe = this.options.dependencyProbe;
    if (!probe) return true;
    return probe().then(
      () => false,
      () => true,
    );
  }

  /** Calls a Nest handler and waits for what it returns (a promise, or an observable: only then through RxJS). */
  private async invoke(handler: MessageHandler, envelope: EventEnvelope, context: KafkaEventContext): Promise<void> {
    const result: unknown = await handler(envelope, context);
    if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
  }

  /**
   * Marks these offsets handled (their effects are committed): the next offsets to read are committed
   * to Kafka within commitIntervalMs, or now, awaited, with an interval of 0.
   */
  private async commit(done: Done[]): Promise<void> {
    this.keepDone(done);
    if (this.commitsDeferred) this.commitLater();
    else await this.commitPending();
  }

  /**
   * Commits at once, whatever the interval: past an event moved to a retry topic or the DLQ. The
   * inbox absorbs a redelivered effect, not a second move (a duplicate letter, a second retry copy
   * with its own budget). A commit that fails leaves the offsets pending for the next.
   */
  private commitNow(done: Done[]): void {
    this.keepDone(done);
    // Started, not awaited: kafkajs retries a commit for up to a minute while the coordinator moves,
    // and the run's next events need not wait for that.
    void this.commitPending().catch((e: unknown) => this.logger.warn(`commit after a move failed, left for the next: ${describeError(e)}`));
  }

  /** Whether offsets wait for the commit interval (or go after every run, awaited). */
  private get commitsDeferred(): boolean {
    return (this.options.commitIntervalMs ?? 0) > 0;
  }

  /** Marks each partition handled up to and including `offset`: its next offset to read is pending. */
  private keepDone(done: Done[]): void {
    for (const { topic, partition, offset } of done) this.keepPending({ topic, partition, next: BigInt(offset) + 1n });
  }

  /** Pending offsets only move forward, and only for partitions the member holds. */
  private keepPending(entry: { topic: string; partition: number; next: bigint }): void {
    const key = partitionKey(entry.topic, entry.partition);
    if (this.assigned && !this.assigned.has(key)) return;
    if ((this.pendingOffsets.get(key)?.next ?? -1n) < entry.next) this.pendingOffsets.set(key, entry);
  }

  private commitLater(atLeastMs = 0): void {
    this.commitTimer ??= setTimeout(() => void this.commitPending().catch(() => undefined), Math.max(this.options.commitIntervalMs ?? 0, atLeastMs));
  }

  /**
   * Commits the pending offsets in one request, one request at a time. A commit that fails (after
   * kafkajs' retries) puts its offsets back, unless newer ones are pending, for the next one.
   */
  private async commitPending(): Promise<void> {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    while (this.committing) await this.committing.catch(() => undefined);
    if (this.pendingOffsets.size === 0) return;
    const consumer = this.consumer;
    if (!consumer) {
      if (this.commitsDeferred && !this.closing) this.commitLater(); // a consumer restarting: its successor commits them
      return;
    }
    const batch = [...this.pendingOffsets.values()];
    this.pendingOffsets.clear();
    const confirmed = this.commitsConfirmed;
    this.committing = consumer
      .commitOffsets(batch.map(({ topic, partition, next }) => ({ topic, partition, offset: next.toString() })))
      .then(() => {
        // kafkajs resolves without sending anything while its runner is not running (a crash being
        // handled, a restarted consumer still joining), and turns a failure then into success: only
        // its COMMIT_OFFSETS event says the broker took them. Else they wait for the next commit.
        if (this.commitsConfirmed !== confirmed) return;
        for (const entry of batch) this.keepPending(entry);
        // Not at once: the runner may take a while to run again, and each try returns at once.
        if (!this.closing && this.pendingOffsets.size > 0) this.commitLater(UNCONFIRMED_COMMIT_RETRY_MS);
      })
      .catch((e: unknown) => {
        for (const entry of batch) this.keepPending(entry);
        this.logger.warn(`offset commit failed, kept for the next one: ${describeError(e)}`);
        if (!this.commitsDeferred) throw e; // the run that waited for it fails, and its events come again (the inbox absorbs them)
        if (!this.closing) this.commitLater();
      })
      .finally(() => (this.committing = undefined));
    await this.committing;
  }

  /** 0 for an event topic, N for the module's `.retry.N` topic (above the configured levels too). */
  private retryLevelOf(topic: string): number {
    return this.options.naming.retryLevel(this.options.module, topic);
  }

  /**
   * When a retry event is due: as its header says, but no later than the level's delay after this
   * member first read it. A due time written by a clock running ahead (another host's, a redrive
   * tool's) or a bogus header would otherwise hold every retry of the level behind it.
   */
  private dueAt(topic: string, partition: number, message: KafkaMessage, level: number): number {
    const key = partitionKey(topic, partition);
    let seen = this.waitingSince.get(key);
    if (seen?.offset !== message.offset) {
      seen = { offset: message.offset, at: Date.now() };
      this.waitingSince.set(key, seen);
    }
    const written = Number(message.headers?.['retry-due-at']?.toString() ?? 0);
    return Math.min(Number.isFinite(written) ? written : 0, seen.at + (this.options.retryDelaysMs[level - 1] ?? 0));
  }

  /**
   * A retry not yet due pauses its partition until it is, and leaves the rest of its batch unresolved
   * for the fetch after the resume (the events of one retry topic are due in order). Waiting in the
   * handler instead would hold up the module's other topics for the whole delay: kafkajs fetches
   * again only when every batch of a fetch is handled.
   */
  private pauseUntilDue(pause: () => () => void, waitMs: number): void {
    const resume = pause();
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      if (!this.closing) resume();
    }, waitMs);
    this.resumeTimers.add(timer);
  }

  /** Handles one event in its own transaction, with retries; true when it moved it (to a retry topic or the DLQ) instead. */
  private async processMessage(topic: string, partition: number, message: KafkaMessage, retryLevel: number, heartbeat: Heartbeat): Promise<boolean> {
    const headers = message.headers ?? {};
    // A retried event keeps pointing at the topic it was first read from.
    const source: Source =
      retryLevel > 0
        ? {
            topic: headers['retry-source-topic']?.toString() ?? topic,
            partition: Number(headers['retry-source-partition']?.toString() ?? partition),
            offset: headers['retry-source-offset']?.toString() ?? message.offset,
            attempts: Number(headers['retry-attempts']?.toString() ?? 0),
          }
        : { topic, partition, offset: message.offset, attempts: 0 };
    let decoded: Decoded;
    try {
      decoded = this.decode(source.topic, message);
    } catch (e) {
      await this.beating(heartbeat, () => this.park(source, message, e, source.attempts + 1));
      return true;
    }
    const { envelope, handler } = decoded;
    const maxAttempts = this.options.retries + 1;
    const started = performance.now();
    for (let attempt = 1, outage = 0, whileUp = 0; ; attempt++) {
      const context: KafkaEventContext = { topic, partition, offset: message.offset, headers, attempt: source.attempts + attempt };
      try {
        await this.invoke(handler, envelope, context);
        this.observer.handled(this.options.module, envelope.type, performance.now() - started);
        this.observer.endToEnd?.(this.options.module, envelope.type, Date.now() - Date.parse(envelope.occurredAt));
        return false;
      } catch (e) {
        const connectionLost = isInfrastructureError(e) && !this.closing;
        const dependencyAway = connectionLost && (await this.dependencyAway());
        if (connectionLost && (dependencyAway || ++whileUp <= FREE_CONNECTION_ERRORS)) {
          // The database (or another dependency) is away, or was just cut: not this event's fault,
          // so it does not spend the retry budget. The partition waits; health reports the outage.
          if (dependencyAway) whileUp = 0;
          attempt--;
          const delay = Math.min(this.options.retryBackoffMs * 2 ** outage++, 5000);
          this.logger.warn(
            `${envelope.type} ${envelope.eventId}: ${dependencyAway ? 'dependency unavailable' : 'connection lost'}, waiting ${delay} ms: ${describeError(e)}`,
          );
          await this.wait(delay, heartbeat);
          continue;
        }
        if (connectionLost) {
          this.logger.warn(`${envelope.type} ${envelope.eventId}: connection errors while the database answers; counted as failures of this event`);
        }
        const willRetry = !isPermanent(e) && attempt < maxAttempts && !this.closing;
        this.observer.failed(this.options.module, envelope.type, e, willRetry);
        if (this.closing && !isPermanent(e)) throw e; // stopping: not committed, redelivered after restart
        if (willRetry) {
          const delay = this.options.retryBackoffMs * 2 ** (attempt - 1);
          this.logger.warn(
            `${envelope.type} ${envelope.eventId} failed (attempt ${attempt}/${maxAttempts}), retrying in ${delay} ms: ${describeError(e)}`,
          );
          await this.wait(delay, heartbeat);
          continue;
        }
        if (!isPermanent(e) && retryLevel < this.options.retryDelaysMs.length) {
          await this.beating(heartbeat, () => this.scheduleRetry(source, message, e, retryLevel + 1, source.attempts + attempt, envelope));
        } else {
          await this.beating(heartbeat, () => this.park(source, message, e, source.attempts + attempt, envelope));
        }
        return true;
      }
    }
  }

  /** Moves a still-failing event to the module's next retry topic, due after that level's delay. */
  /**
   * Runs a move (to a retry topic or the DLQ), asking kafkajs for a heartbeat every second meanwhile:
   * kafkajs sends one only when asked, and a send can sit in the producer's retries past the session
   * timeout (a leader election), after which the group gives the partition to another member, which
   * moves the event a second time.
   */
  private async beating<T>(heartbeat: Heartbeat & { alone?: Heartbeat }, move: () => Promise<T>): Promise<T> {
    // The heartbeat alone, not "moved on": a send that hangs is a stall too.
    const beat = heartbeat.alone ?? heartbeat;
    const timer = setInterval(() => void beat().catch(() => undefined), 1000);
    try {
      return await move();
    } finally {
      clearInterval(timer);
    }
  }

  private async scheduleRetry(
    source: Source,
    message: KafkaMessage,
    error: unknown,
    level: number,
    attempts: number,
    envelope: EventEnvelope,
  ): Promise<void> {
    const { naming, module, retryDelaysMs, producer } = this.options;
    const topic = naming.retryTopic(module, level);
    const delay = retryDelaysMs[level - 1];
    this.logger.warn(`${envelope.type} ${envelope.eventId} failed ${attempts} time(s); retry ${level} in ${delay} ms via ${topic}: ${describeError(error)}`);
    const added: RetryHeaders = {
      'retry-level': String(level),
      'retry-due-at': String(Date.now() + delay),
      'retry-attempts': String(attempts),
      'retry-error': describeError(error).slice(0, 2000),
      'retry-source-topic': source.topic,
      'retry-source-partition': String(source.partition),
      'retry-source-offset': source.offset,
    };
    const headers = { ...withoutTransportHeaders(message.headers), ...added };
    try {
      await producer.send([{ topic, key: message.key?.toString('utf8') ?? envelope.key, value: message.value ?? Buffer.alloc(0), headers }]);
    } catch (e) {
      if (!isMessageTooLarge(e)) throw e;
      // Too large even compressed (sendInRequests compresses what exceeds a request): near the limit
      // before the retry headers, and incompressible. It cannot move, so it parks (as a stub).
      this.logger.warn(`${envelope.type} ${envelope.eventId} is too large for ${topic}: parking it instead`);
      return this.park(source, message, error, attempts, envelope);
    }
    this.observer.retried?.(module, envelope.type, level);
  }

  /**
   * Parses and validates an incoming message against the envelope and its contract. Whatever fails
   * here is the message's own fault, and so permanent: a value nested deep enough to overflow
   * class-transformer's stack (a RangeError) included.
   */
  private decode(topic: string, message: KafkaMessage): Decoded {
    try {
      return this.decodeOrThrow(topic, message);
    } catch (e) {
      if (e instanceof PermanentEventError) throw e;
      throw new PermanentEventError(`message could not be decoded: ${describeError(e)}`, 'EVENT.UNDECODABLE');
    }
  }

  private decodeOrThrow(topic: string, message: KafkaMessage): Decoded {
    if (!message.value) throw new PermanentEventError('empty message value', 'EVENT.EMPTY');
    let raw: unknown;
    try {
      raw = JSON.parse(message.value.toString('utf8'));
    } catch {
      throw new PermanentEventError('message value is not JSON', 'EVENT.UNDECODABLE');
    }
    const { value: envelope, failed: envelopeErrors } = validateContract(EventEnvelopeSchema, raw);
    if (envelopeErrors.length > 0) {
      throw new PermanentEventError(`invalid envelope: ${envelopeErrors.join(', ')}`, 'EVENT.INVALID_ENVELOPE');
    }
    if (!isEventType(envelope.type)) throw new PermanentEventError(`unknown event type ${envelope.type}`, 'EVENT.UNKNOWN_TYPE');
    const definition = EVENTS[envelope.type];
    if (this.options.naming.topic(definition.topic) !== topic) {
      throw new PermanentEventError(`${envelope.type} does not belong on topic ${topic}`, 'EVENT.WRONG_TOPIC');
    }
    if (envelope.version !== definition.version) {
      throw new PermanentEventError(`unsupported version ${envelope.type} v${envelope.version}`, 'EVENT.UNKNOWN_VERSION');
    }
    const { value: payload, failed: payloadErrors } = validateContract(definition.payload as new () => object, envelope.payload);
    if (payloadErrors.length > 0) {
      throw new PermanentEventError(`invalid ${envelope.type} payload: ${payloadErrors.join(', ')}`, 'EVENT.INVALID_PAYLOAD');
    }
    // Nest's getHandlerByPattern tries JSON.parse on the pattern first, and a plain event type makes
    // it throw: an exception per event. Our patterns are the event types themselves.
    const handler = this.messageHandlers.get(envelope.type) ?? this.getHandlerByPattern(envelope.type);
    if (!handler) throw new PermanentEventError(`no handler for ${envelope.type}`, 'EVENT.NO_HANDLER');
    return { envelope: { ...envelope, payload } as EventEnvelope, handler };
  }

  /** Parks an event in the module's dead-letter topic with why and where it came from. */
  private async park(source: Source, message: KafkaMessage, error: unknown, attempts: number, envelope?: EventEnvelope): Promise<void> {
    const reason = describeError(error);
    // Stable codes only (they label metrics): ours, or a module's DomainError code; never a driver's.
    const own = error as { permanent?: unknown; code?: unknown } | undefined;
    const code =
      error instanceof PermanentEventError ? error.code : own?.permanent === true && typeof own.code === 'string' ? own.code : 'HANDLER.FAILED';
    const dlq = this.options.naming.deadLetterTopic(this.options.module);
    this.logger.error(
      `parking ${envelope ? `${envelope.type} ${envelope.eventId}` : `message`} from ${source.topic}[${source.partition}]@${source.offset} ` +
        `in ${dlq} after ${attempts} attempt(s): ${reason}`,
    );
    const letter = {
      topic: dlq,
      key: message.key?.toString('utf8') ?? envelope?.key ?? '',
      value: message.value ?? Buffer.alloc(0),
      headers: {
        ...withoutTransportHeaders(message.headers),
        ...({
          'dlq-error': reason.slice(0, 2000),
          'dlq-error-code': String(code),
          'dlq-permanent': String(isPermanent(error)),
          'dlq-attempts': String(attempts),
          'dlq-source-topic': source.topic,
          'dlq-source-partition': String(source.partition),
          'dlq-source-offset': source.offset,
          'dlq-group': this.groupId,
          'dlq-at': new Date().toISOString(),
        } satisfies DeadLetterHeaders),
      },
    };
    try {
      await this.options.producer.send([letter]);
    } catch (e) {
      if (!isMessageTooLarge(e)) throw e;
      // Near the limit before our headers and incompressible (what came in compressed goes on
      // compressed): the broker refuses it again, and failing here would redeliver it forever. The
      // letter goes without its value; the source coordinates say where to read it while the topic
      // retains it.
      this.logger.error(`${dlq} refused the ${letter.value.length}-byte value as too large: parking the letter without it`);
      await this.options.producer.send([{ ...letter, value: Buffer.alloc(0), headers: { ...letter.headers, ...({ 'dlq-value-dropped': String(letter.value.length) } satisfies DeadLetterHeaders) } }]);
    }
    this.observer.deadLettered(this.options.module, source.topic, String(code));
  }
}

/** The last offset handled on a partition. */
interface Done {
  topic: string;
  partition: number;
  offset: string;
}

/** An incoming message checked against its contract, with the handler it goes to. */
interface Decoded {
  envelope: EventEnvelope;
  handler: MessageHandler;
}

/** The event ids the outbox relay wrote into the messages' headers (a hint: the envelope is what counts). */
function eventIdsOf(messages: KafkaMessage[]): string[] {
  return messages.map((m) => header(m.headers, 'event-id')).filter((id): id is string => id !== undefined && UUID.test(id));
}

/**
 * Partition batches kafkajs hands over at once (its `partitionsConsumedConcurrently`): a whole fetch
 * for a group of up to ~10 topics of 6 partitions. kafkajs wakes every one of its workers after each
 * fetch, so more is not free (256 cost 1.3 % of the app's CPU at 100 orders/s).
 */
const BATCHES_PER_DELIVERY = 64;

/**
 * How often a run asks kafkajs for a heartbeat. kafkajs sends one only once its heartbeatInterval
 * (1 s) has passed, but every call costs about ten promises even when none is due: a fifth of the
 * promises a run made per event (async_hooks count in the consumer bench).
 */
const HEARTBEAT_CHECK_MS = 100;

/** The wait before committing again offsets kafkajs did not send (its runner was not running). */
const UNCONFIRMED_COMMIT_RETRY_MS = 500;

/** How long close() lets the batches in flight finish before it commits their offsets and disconnects. */
const CLOSE_WAIT_MS = 5000;

/** A member silent (no heartbeat) for this long is put out of its group by the broker. */
const SESSION_TIMEOUT_MS = 10_000;

/** The first wait before a fresh consumer replaces one that crashed for good, and the longest. */
const RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;

/** kafkajs' heartbeat of the batch being handled. */
type Heartbeat = EachBatchPayload['heartbeat'];

/** One partition of one topic, as the pending offsets and the assignment both name it. */
function partitionKey(topic: string, partition: number): string {
  return `${partition} ${topic}`;
}

/** A message of a gathered batch, with the batch it came in. */
interface Item {
  from: EachBatchPayload;
  message: KafkaMessage;
}

/** Consecutive events of a stream (one topic unless runsMixTopics, one or more partitions) whose effects share one transaction, not yet committed. */
interface Run {
  transaction: BatchTransaction;
  events: (Item & { envelope: EventEnvelope; ms: number })[];
  startedAt: number;
}

/** Where an event was first read, and how many attempts it has had so far. */
interface Source {
  topic: string;
  partition: number;
  offset: string;
  attempts: number;
}

/**
 * The original message headers without our retry/DLQ bookkeeping (which is rewritten each hop), and
 * without null values: Kafka allows them (Java clients, Kafka Connect and kcat write them), kafkajs
 * reads them as null and cannot write them back, so a retry or a parked copy carrying one failed to
 * send, and the consumer crashed on the same record over and over.
 */
export function withoutTransportHeaders(headers: IHeaders | undefined): IHeaders {
  const kept: IHeaders = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    // Except the mark of a value dropped for its size: a redriven stub parks again and must still say why it is empty.
    if (k !== 'dlq-value-dropped' && (k.startsWith('retry-') || k.startsWith('dlq-'))) continue;
    const values = (Array.isArray(v) ? v : [v]).filter((x) => x !== null && x !== undefined);
    if (values.length > 0) kept[k] = Array.isArray(v) ? values : values[0];
  }
  return kept;
}
