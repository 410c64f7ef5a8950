import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ModuleName } from '../config/environment';
import { describeError } from './errors';
import type { TopicKeeps } from './topic-provisioner';

/** Beyond what the topics keep: the broker's retention check runs every 5 minutes by default, and clocks drift. */
const MARGIN_MS = 3_600_000;
/** The first sweep after start: soon, so a process restarted more often than the interval still prunes. */
const FIRST_SWEEP_MS = 60_000;
/** How long shutdown waits for a sweep in flight (it may be waiting for the broker). */
const STOP_WAIT_MS = 2000;
/** Rows deleted per statement (one short transaction each). */
const BATCH = 5000;

export interface InboxPrunerOptions {
  module: ModuleName;
  schema: string;
  /** 0: never prune. */
  intervalMs: number;
  /** A fixed horizon instead of the one derived from the topics (INBOX_RETENTION_MS). */
  retentionMs?: number;
  /** The delays of the module's retry topics: an event may wait that long before it reaches the DLQ. */
  retryDelaysMs: number[];
}

/** The topics an event can come back to a module from. */
export interface ModuleTopics {
  /** What its group consumes: event topics and retry topics. */
  consumed: string[];
  /** Its dead-letter topic: a parked event can be redriven for as long as this topic keeps it. */
  deadLetter: string;
  /** Where a redrive sends a dead letter (a new record, kept as long as this topic keeps events). */
  redrive: string;
}

/** How the pruner learns what it may delete: the module's topics, and how long each keeps an event. */
export interface TopicRetention {
  /** Undefined while the module's consumer does not run in this process. */
  topics(): ModuleTopics | undefined;
  retention(topics: string[]): Promise<Map<string, TopicKeeps>>;
}

/** The horizon, or why the inbox is kept whole. */
type Horizon = { keepMs: number } | { keepAll: string };

/**
 * Deletes the inbox rows of events that cannot come back: older than anything the module's topics
 * can still deliver (a replay by offset reset, a redrive from the DLQ). Until then a row is what
 * keeps a redelivered event from running its effect twice, so by default the horizon is read from
 * the broker; it keeps every row when a topic keeps events forever or its settings cannot be read.
 *
 * Event ids are time-ordered (uuidV7), so the oldest events sit at the left edge of the inbox's
 * primary key: each batch walks that edge and needs no index of its own. A row is deleted only
 * when both its event and its handling are past the horizon (a replayed old event keeps its row).
 */
export class InboxPruner {
  private readonly logger: Logger;
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopping = false;
  private readonly said = new Set<string>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly topics: TopicRetention,
    private readonly options: InboxPrunerOptions,
  ) {
    this.logger = new Logger(`InboxPruner:${options.schema}`);
  }

  start(): void {
    if (this.options.intervalMs === 0) return;
    const every = this.options.intervalMs;
    this.timer = setTimeout(() => {
      void this.pruneOnce();
      this.timer = setInterval(() => void this.pruneOnce(), every);
      this.timer.unref();
    }, Math.min(every, FIRST_SWEEP_MS));
    this.timer.unref();
  }

  /** Stops the timer; a sweep in flight ends after its current batch, and is waited for at most STOP_WAIT_MS. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    clearInterval(this.timer);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((r) => (timeout = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(timeout);
  }

  /** One sweep (never two at once); the number of rows deleted. Failures are logged, never thrown. */
  pruneOnce(): Promise<number> {
    this.running ??= this.sweep()
      .catch((e: unknown) => {
        this.logger.warn(`inbox prune failed: ${describeError(e)}`);
        return 0;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** How long rows are kept: the fixed setting, else what the topics can still deliver. */
  async horizon(): Promise<Horizon> {
    const topics = this.topics.topics();
    if (!topics) return { keepAll: `the ${this.options.module} consumer does not run in this process` };
    const redeliverable = topics.consumed.length > 0 ? await this.redeliverable(topics) : undefined;
    const fixed = this.options.retentionMs;
    if (fixed === undefined) return redeliverable ?? { keepAll: `the ${this.options.module} consumer reads no topics` };
    if (redeliverable && ('keepAll' in redeliverable || fixed < redeliverable.keepMs)) {
      const until = 'keepAll' in redeliverable ? redeliverable.keepAll : `they can deliver events for ${redeliverable.keepMs} ms`;
      this.once('warn', `INBOX_RETENTION_MS=${fixed} is shorter than the topics allow (${until}): a replay from earlier would run those events' effects again`);
    }
    return { keepMs: fixed };
  }

  /**
   * As long as an event can reach the module again: the longest a consumed topic or the DLQ keeps it
   * (retention.ms + segment.ms: an event goes with its segment, which closes up to segment.ms after
   * its first event), or a dead letter redriven on the DLQ's last day and then kept by the redrive
   * topic; plus the retry delays and a margin.
   */
  private async redeliverable({ consumed, deadLetter, redrive }: ModuleTopics): Promise<Horizon> {
    const all = [...new Set([...consumed, deadLetter, redrive])];
    let kept: Map<string, TopicKeeps>;
    try {
      kept = await this.topics.retention(all);
    } catch (e) {
      return { keepAll: `the topics' retention could not be read (${describeError(e)})` };
    }
    const keeps = (t: string) => {
      const k = kept.get(t);
      if (!k || k.compacted || k.retentionMs < 0) return undefined; // forever, or what we cannot tell
      return k.retentionMs + k.segmentMs;
    };
    const forever = all.find((t) => keeps(t) === undefined);
    if (forever) return { keepAll: `topic ${forever} keeps events forever (retention.ms=-1 or cleanup.policy=compact)` };
    const longest = Math.max(...[...consumed, deadLetter].map((t) => keeps(t)!), keeps(deadLetter)! + keeps(redrive)!);
    const keepMs = longest + this.options.retryDelaysMs.reduce((a, b) => a + b, 0) + MARGIN_MS;
    // Nothing is older than the epoch: a horizon past it (retention.ms of centuries) keeps everything.
    if (!(keepMs < Date.now())) return { keepAll: `the topics keep events longer than the epoch is old (${keepMs} ms)` };
    return { keepMs };
  }

  private async sweep(): Promise<number> {
    const horizon = await this.horizon();
    if ('keepAll' in horizon) {
      // Not reading the topics is a fault to fix (an ACL, the broker); keeping events forever is a choice.
      this.once(horizon.keepAll.includes('could not be read') ? 'warn' : 'log', `inbox kept whole: ${horizon.keepAll}`);
      return 0;
    }
    if (this.stopping) return 0;
    let total = 0;
    for (;;) {
      const deleted = await this.deleteBatch(horizon.keepMs);
      total += deleted;
      if (deleted < BATCH || this.stopping) break;
    }
    if (total > 0) this.logger.log(`deleted ${total} inbox row(s) older than ${horizon.keepMs} ms`);
    return total;
  }

  /**
   * Up to BATCH rows of events that occurred before the horizon (their ids sort below the smallest
   * uuidV7 of that millisecond) and were handled before it too, in key order from the left edge.
   */
  private async deleteBatch(keepMs: number): Promise<number> {
    const [, deleted] = (await this.dataSource.query(
      `DELETE FROM "${this.options.schema}".inbox WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM "${this.options.schema}".inbox
         WHERE event_id < (lpad(to_hex(floor(extract(epoch FROM now()) * 1000)::bigint - $1::bigint), 12, '0') || repeat('0', 20))::uuid
           AND handled_at < now() - $1::bigint * interval '1 millisecond'
         ORDER BY event_id LIMIT ${BATCH}))`,
      [keepMs],
    )) as [unknown[], number];
    return deleted;
  }

  private once(level: 'log' | 'warn', message: string): void {
    if (this.said.has(message)) return;
    this.said.add(message);
    this.logger[level](message);
  }
}
