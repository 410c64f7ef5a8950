import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Environment } from '../../platform/config/environment';
import { OverloadedError } from '../../platform/http/overloaded.error';

/**
 * Reads of the read models for HTTP: in one REPEATABLE READ snapshot, so every number of an answer
 * (and its projection version) comes from the same committed state. They share the module's pool
 * with the projections, and the routes are public, so two bounds keep them from taking it: at most
 * half of DATABASE_POOL_SIZE run at once in a process (more are answered 503 at once), and each of
 * their statements is cancelled after ANALYTICS_READ_TIMEOUT_MS (503 too). A read is a few statements
 * (the dashboard snapshot about nine), so one may hold its connection a few times that long.
 */
@Injectable()
export class ReadModels {
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private inFlight = 0;

  constructor(
    @InjectDataSource('analytics') private readonly dataSource: DataSource,
    config: ConfigService<Environment, true>,
  ) {
    this.timeoutMs = config.get('ANALYTICS_READ_TIMEOUT_MS', { infer: true });
    this.maxInFlight = Math.max(1, Math.floor(config.get('DATABASE_POOL_SIZE', { infer: true }) / 2));
  }

  async inSnapshot<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.inFlight >= this.maxInFlight) {
      throw new OverloadedError(`${this.maxInFlight} analytics reads are running (half of DATABASE_POOL_SIZE; the rest is the projections'); try again shortly`);
    }
    this.inFlight++;
    try {
      return await this.dataSource.transaction('REPEATABLE READ', async (m) => {
        await m.query(`SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${Math.floor(this.timeoutMs)}`);
        return work(m);
      });
    } catch (e) {
      if ((e as { driverError?: { code?: unknown } }).driverError?.code === '57014') {
        throw new OverloadedError(`an analytics query took longer than ${this.timeoutMs} ms (ANALYTICS_READ_TIMEOUT_MS); ask for a shorter range or a wider bucket`);
      }
      throw e;
    } finally {
      this.inFlight--;
    }
  }
}
