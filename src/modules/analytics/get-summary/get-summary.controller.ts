import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AnalyticsSummary, GetSummaryService } from './get-summary.service';

@ApiTags('analytics')
@Controller('analytics')
export class GetSummaryController {
  constructor(private readonly service: GetSummaryService) {}

  /** Orders per status, revenue, average order value, top products, rejection reasons, latency, latest orders. */
  @Get('summary')
  summary(): Promise<AnalyticsSummary> {
    return this.service.get();
  }
}
