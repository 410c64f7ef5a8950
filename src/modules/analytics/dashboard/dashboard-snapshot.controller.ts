import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AnalyticsSummary, GetSummaryService } from '../get-summary/get-summary.service';
import { GetTimeseriesService, Timeseries } from '../get-timeseries/get-timeseries.service';
import { ReadModels } from '../read-models';

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
    private readonly reads: ReadModels,
    private readonly summary: GetSummaryService,
    private readonly timeseries: GetTimeseriesService,
  ) {}

  @Get('snapshot')
  snapshot(): Promise<DashboardSnapshot> {
    return this.reads.inSnapshot(async (m) => {
      const summary = await this.summary.read(m);
      const timeseries = await this.timeseries.read(m, { bucket: '1m' });
      return { version: summary.version, summary, timeseries };
    });
  }
}
