import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Environment } from '../../platform/config/environment';
import { OverloadedError } from '../../platform/http/overloaded.error';

/**
 * Reads of the read models for HTTP: in one REPEATABLE READ snapshot, so every number of an answer
 * (and its projection version) comes from the same committed state, and bounded by
 * ANALYTICS_READ_TIMEOUT_MS. The reads share the module's pool with the projections: a public request
 * over a wide range of a long history (seconds at millions of facts) must not hold its connections.
 */
@Injectable()
export class ReadModels {
  private readonly timeoutMs: number;

  constructor(
    @InjectDataSource('analytics') private readonly dataSource: DataSource,
    config: ConfigService<Environment, true>,
  ) {
    this.timeoutMs = config.get('ANALYTICS_READ_TIMEOUT_MS', { infer: true });
  }

  async inSnapshot<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.dataSource.transaction('REPEATABLE READ', async (m) => {
        await m.query(`SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${Math.floor(this.timeoutMs)}`);
        return work(m);
      });
    } catch (e) {
      if ((e as { driverError?: { code?: unknown } }).driverError?.code === '57014') {
        throw new OverloadedError(`the analytics read took longer than ${this.timeoutMs} ms (ANALYTICS_READ_TIMEOUT_MS); ask for a shorter range or a wider bucket`);
      }
      throw e;
    }
  }
}
