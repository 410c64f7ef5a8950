import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { OrderPlaced, StockRejected, StockReserved } from '../../../contracts';
import { Environment } from '../../../platform/config/environment';
import { BatchTransaction } from '../../../platform/kafka/batch-transaction';
import { ConsumerProgress } from '../../../platform/kafka/consumer-progress';
import { ORDER_SCHEMA as S } from '../order.schema';
import { OrderTransitions } from '../order-transitions';
import { forgetExpiredKeys } from '../place-order/idempotency';

/** Orders rejected per transaction by the sweep. */
const EXPIRY_BATCH = 100;
/** The sweep locks only orders nobody else held (SKIP LOCKED), so a lock wait in its batch means something is wrong. */
const EXPIRY_LOCK_TIMEOUT_MS = 5000;
/**
 * An order (of `orders`) overdue at `cutoff`, a SQL expression of the sweep's time less the grace:
 * created a timeout ($1) before it, and published by then (the notes, see expireDue).
 */
const overdueAt = (cutoff: string) => `created_at < ${cutoff} - $1::bigint * interval '1 millisecond'
  -- Every note since, too: a note misses an order whose transaction was still open (its row
  -- invisible), and a later one that saw its order.placed waiting corrects it.
  AND created_at < (SELECT min(published_before) FROM "${S}".placed_publish_marks
                    WHERE sampled_at >= (SELECT max(sampled_at) FROM "${S}".placed_publish_marks
                                         WHERE sampled_at <= now() - $1::bigint * interval '1 millisecond'))`;

/** At most this long (or a sweep period) past the timeout: the stock decisions written up to then must have been read. */
const MAX_READ_GRACE_MS = 5000;

/**
 * Rejects orders still PENDING after the reservation timeout, so no stock stays stuck: the
 * warehouse releases a reservation it holds on `order.rejected`. Safe with several instances
 * (SKIP LOCKED) and idempotent (the status machine refuses a second rejection). The same sweep
 * deletes Idempotency-Keys past their time to live.
 */
@Injectable()
export class ExpireReservationsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ExpireReservationsService.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopping = false;
  private readonly timeoutMs: number;
  private readonly sweepMs: number;
  private readonly stuckAfterMs: number;
  private readonly graceMs: number;
  /** When the last sweep found overdue orders it could not decide yet, and logged it (once a minute). */
  private unreadSince?: number;

  constructor(
    @InjectDataSource('order') private readonly dataSource: DataSource,
    private readonly transitions: OrderTransitions,
    private readonly progress: ConsumerProgress,
    config: ConfigService<Environment, true>,
  ) {
    this.timeoutMs = config.get('ORDER_RESERVATION_TIMEOUT_MS', { infer: true });
    this.sweepMs = config.get('ORDER_EXPIRY_SWEEP_MS', { infer: true });
    this.stuckAfterMs = config.get('ORDER_STUCK_AFTER_MS', { infer: true });
    this.graceMs = Math.min(this.sweepMs, MAX_READ_GRACE_MS);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.expireDue()
        .then(async (n) => {
          await this.forgetExpiredKeys();
          return n;
        })
        .catch((e: unknown) => {
          this.logger.warn(`expiry sweep failed: ${String(e)}`);
          return 0;
        })
        .finally(() => (this.running = undefined));
    }, this.sweepMs);
    this.timer.unref();
  }

  /**
   * Stops before the order outbox drains: Nest runs this module's hook before its messaging
   * module's (which stops the relay), so no rejection is written after the last publish.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * Rejects the overdue orders, in batches of EXPIRY_BATCH, for at most a sweep period; returns how
   * many. An order is overdue once its `order.placed` has been published for the timeout: while the
   * broker is away it waits in the outbox, unseen by the warehouse, and the timeout must not run out
   * on it then. Each sweep first notes when the oldest `order.placed` still in the outbox was written
   * (every order created before it was published by now); an order is overdue when a note taken a
   * timeout ago, and every note since, had it published. An order whose transaction outlasts the
   * timeout itself could still be missed by all of them.
   *
   * Nor is an order rejected while the answer may be waiting in Kafka, unread by this module (its
   * consumer restarting after an outage, or behind): an order is overdue a grace (a sweep period, at
   * most 5 s) after its timeout, and only once the group has read every stock decision written
   * before that grace began. Otherwise the orders wait for a later sweep.
   */
  async expireDue(): Promise<number> {
    await this.dataSource.query(
      `WITH mark AS (
         INSERT INTO "${S}".placed_publish_marks (sampled_at, published_before)
         -- An order's outbox row is stamped with its transaction's start, never after the order's own created_at.
         SELECT now(), coalesce((SELECT min(created_at) FROM "${S}".outbox WHERE topic = '${OrderPlaced.topic}'), now())
         ON CONFLICT (sampled_at) DO NOTHING)
       -- Only the newest note a timeout old and those after it are read: the ones before it are not needed again.
       DELETE FROM "${S}".placed_publish_marks
       WHERE sampled_at < (SELECT max(sampled_at) FROM "${S}".placed_publish_marks WHERE sampled_at <= now() - $1 * interval '1 millisecond')`,
      [this.timeoutMs],
    );
    // One cutoff for the whole sweep, by the database's clock: orders created a timeout before it are
    // overdue, and every stock decision written before it must have been read first. Asked before
    // any order is locked (the broker may be slow to answer), and only when some order is overdue.
    const [{ read_up_to: readUpTo, overdue }]: { read_up_to: Date; overdue: boolean }[] = await this.dataSource.query(
      `SELECT now() - $2::bigint * interval '1 millisecond' AS read_up_to,
              EXISTS (SELECT 1 FROM "${S}".orders WHERE status = 'PENDING' AND ${overdueAt(`(now() - $2::bigint * interval '1 millisecond')`)}) AS overdue`,
      [this.timeoutMs, this.graceMs],
    );
    if (!overdue || !(await this.decisionsRead(readUpTo))) return 0;
    const until = Date.now() + this.sweepMs;
    let total = 0;
    for (;;) {
      const n = await this.expireBatch(readUpTo);
      total += n;
      // A full batch leaves more overdue (a backlog after an outage): go on, within the sweep period.
      if (n < EXPIRY_BATCH || this.stopping || Date.now() >= until) break;
    }
    if (total > 0) this.logger.warn(`rejected ${total} order(s) not reserved within ${this.timeoutMs} ms of their order.placed being published`);
    return total;
  }

  /**
   * One batch in one transaction shared like a consumer run's: the orders are locked and read with
   * one statement, and their new statuses, audit rows and events written with one each before the
   * commit (one statement per order before, two round trips each while holding the batch's locks).
   */
  private async expireBatch(readUpTo: Date): Promise<number> {
    const run = new BatchTransaction(EXPIRY_LOCK_TIMEOUT_MS);
    try {
      const n = await run.run(async () => {
        const m = await run.manager(this.dataSource);
        const due: { id: string; correlation_id: string }[] = await m.query(
          `SELECT id, correlation_id FROM "${S}".orders
           WHERE status = 'PENDING' AND ${overdueAt('$2::timestamptz')}
           ORDER BY created_at LIMIT ${EXPIRY_BATCH} FOR UPDATE SKIP LOCKED`,
          [this.timeoutMs, readUpTo],
        );
        run.addKeys(due.map((o) => o.id));
        for (const order of due) {
          await this.transitions.apply(
            m,
            order.id,
            { to: 'REJECTED', reason: 'RESERVATION_TIMEOUT', skus: [] },
            { correlationId: order.correlation_id, causationId: `timeout:${order.id}`, eventId: null },
          );
        }
        return due.length;
      });
      await run.commit();
      return n;
    } catch (e) {
      await run.rollback();
      throw e;
    }
  }

  /** Whether this module's group has read every stock decision written before `at`; says so once a minute when not. */
  private async decisionsRead(at: Date): Promise<boolean> {
    const read = await this.progress.readThrough('order', [StockReserved.topic, StockRejected.topic], at);
    if (read) this.unreadSince = undefined;
    else if (this.unreadSince === undefined || Date.now() - this.unreadSince >= 60_000) {
      this.unreadSince = Date.now();
      this.logger.warn(`overdue orders wait: the order group has not read every stock decision written before ${at.toISOString()} yet`);
    }
    return read;
  }

  /** Deletes expired Idempotency-Keys in batches of 1,000, at most 10 batches a sweep; returns how many. */
  async forgetExpiredKeys(): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < 10; batch++) {
      const n = await forgetExpiredKeys(this.dataSource.manager, 1000); // one statement: atomic on its own
      total += n;
      if (n < 1000) break;
    }
    return total;
  }

  /** Orders PENDING longer than the stuck bound (or `olderThanMs`), oldest first. */
  async stuck(olderThanMs = this.stuckAfterMs): Promise<{ id: string; createdAt: string; pendingForMs: number }[]> {
    const rows: { id: string; created_at: Date; age_ms: number }[] = await this.dataSource.query(
      `SELECT id, created_at, (extract(epoch FROM now() - created_at) * 1000)::float AS age_ms FROM "${S}".orders
       WHERE status = 'PENDING' AND created_at < now() - $1 * interval '1 millisecond' ORDER BY created_at LIMIT 500`,
      [olderThanMs],
    );
    return rows.map((r) => ({ id: r.id, createdAt: r.created_at.toISOString(), pendingForMs: Math.round(r.age_ms) }));
  }
}

