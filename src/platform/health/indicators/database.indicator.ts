import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ModuleName } from '../../config/environment';
import { DownLog } from './down-reason';
import { withTimeout } from './with-timeout';

/** Rejects unless the module's database answers `SELECT 1` within `timeoutMs`: for health and the transport's probe. */
export async function pingDatabase(ds: DataSource, timeoutMs = 2000): Promise<void> {
  await withTimeout(ds.query('SELECT 1'), timeoutMs, 'database did not answer');
}

/** `db:<module>`: the module's own connection answers `SELECT 1` in time. */
@Injectable()
export class DatabaseHealthIndicator {
  private readonly downLog = new DownLog(new Logger('Health'));

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  async check(module: ModuleName, timeoutMs = 2000): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(`db:${module}`);
    try {
      const ds = this.moduleRef.get<DataSource>(getDataSourceToken(module), { strict: false });
      await pingDatabase(ds, timeoutMs);
      this.downLog.up(`db:${module}`);
      return check.up();
    } catch (e) {
      return check.down({ message: this.downLog.down(`db:${module}`, e) });
    }
  }
}
