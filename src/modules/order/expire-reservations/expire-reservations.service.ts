import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../../../platform/config/environment';
import { ORDER_SCHEMA as S } from '../order.schema';
import { OrderTransitions } from '../order-transitions';
import { forgetExpiredKeys } from '../place-order/idempotency';

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
  private readonly timeoutMs: number;
  private readonly sweepMs: number;
  private readonly stuckAfterMs: number;

  constructor(
    @InjectDataSource('order') private readonly dataSource: DataSource,
    private readonly transitions: OrderTransitions,
    config: ConfigService<Environment, true>,
  ) {
    this.timeoutMs = config.get('ORDER_RESERVATION_TIMEOUT_MS', { infer: true });
    this.sweepMs = config.get('ORDER_EXPIRY_SWEEP_MS', { infer: true });
    this.stuckAfterMs = config.get('ORDER_STUCK_AFTER_MS', { infer: true });
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
    clearInterval(this.timer);
    await this.running;
  }

  /** Rejects up to 100 overdue orders; returns how many. */
  async expireDue(): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      const due: { id: string; correlation_id: string }[] = await m.query(
        `SELECT id, correlation_id FROM "${S}".orders
         WHERE status = 'PENDING' AND created_at < now() - $1 * interval '1 millisecond'
         ORDER BY created_at LIMIT 100 FOR UPDATE SKIP LOCKED`,
        [this.timeoutMs],
      );
      for (const order of due) {
        await this.transitions.apply(
          m,
          order.id,
          { to: 'REJECTED', reason: 'RESERVATION_TIMEOUT', skus: [] },
          { correlationId: order.correlation_id, causationId: `timeout:${order.id}`, eventId: null },
        );
      }
      if (due.length > 0) this.logger.warn(`rejected ${due.length} order(s) not reserved within ${this.timeoutMs} ms`);
      return due.length;
    });
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

