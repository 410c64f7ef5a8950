import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AnalyticsSummary, GetSummaryService } from '../get-summary/get-summary.service';
import { GetTimeseriesService, Timeseries } from '../get-timeseries/get-timeseries.service';
import { inSnapshot } from '../read-models';

export interface DashboardSnapshot {
  /** One version for both parts: the dashboard applies live changes above it. */
  version: number;
  summary: AnalyticsSummary;
  timeseries: Timeseries;
}

/** The summary and the last 30 minutes, read in one database snapshot so the live stream can continue it exactly. */
@ApiTags('analytics')
@Controller('analytics')
export class DashboardSnapshotController {
  constructor(
    @InjectDataSource('analytics') private readonly dataSource: DataSource,
    private readonly summary: GetSummaryService,
    private readonly timeseries: GetTimeseriesService,
  ) {}

  @Get('snapshot')
  snapshot(): Promise<DashboardSnapshot> {
    return inSnapshot(this.dataSource, async (m) => {
      const summary = await this.summary.read(m);
      const timeseries = await this.timeseries.read(m, { bucket: '1m' });
      return { version: summary.version, summary, timeseries };
    });
  }
}
