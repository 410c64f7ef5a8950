import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { GetTimeseriesQuery } from './get-timeseries.dto';
import { GetTimeseriesService, Timeseries } from './get-timeseries.service';

@ApiTags('analytics')
@Controller('analytics')
export class GetTimeseriesController {
  constructor(private readonly service: GetTimeseriesService) {}

  /** Orders per status, revenue and latency percentiles per bucket over [from, to); 400 beyond 1440 buckets. */
  @Get('timeseries')
  timeseries(@Query() query: GetTimeseriesQuery): Promise<Timeseries> {
    return this.service.get(query);
  }
}
