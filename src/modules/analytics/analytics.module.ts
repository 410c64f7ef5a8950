import { Module } from '@nestjs/common';
import { ModuleDatabaseModule } from '../../platform/database/module-database.module';
import { MessagingModule } from '../../platform/kafka/messaging.module';
import { ANALYTICS_SCHEMA } from './analytics.schema';
import { DashboardSnapshotController } from './dashboard/dashboard-snapshot.controller';
import { DashboardController } from './dashboard/dashboard.controller';
import { GetSummaryController } from './get-summary/get-summary.controller';
import { GetSummaryService } from './get-summary/get-summary.service';
import { GetTimeseriesController } from './get-timeseries/get-timeseries.controller';
import { GetTimeseriesService } from './get-timeseries/get-timeseries.service';
import { LiveGateway } from './live/live.gateway';
import { liveProviders } from './live/live.providers';
import { AnalyticsInitial1764000000000 } from './migrations/1764000000000-analytics-initial';
import { AnalyticsProjections1764100000000 } from './migrations/1764100000000-analytics-projections';
import { ProjectEventHandler } from './project-event/project-event.handler';
import { ProjectEventService } from './project-event/project-event.service';
import { ProjectionStore } from './project-event/projection-store';
import { ReadModels } from './read-models';

const httpControllers = [GetSummaryController, GetTimeseriesController, DashboardSnapshotController, DashboardController];
const eventHandlers = [ProjectEventHandler];
const useCases = [ProjectEventService, GetSummaryService, GetTimeseriesService];
const readModels = [ProjectionStore, ReadModels];
const liveStream = [LiveGateway, ...liveProviders];

@Module({
  imports: [
    ModuleDatabaseModule.forModule({
      module: 'analytics',
      schema: ANALYTICS_SCHEMA,
      entities: [],
      migrations: [AnalyticsInitial1764000000000, AnalyticsProjections1764100000000],
    }),
    MessagingModule.forModule({ module: 'analytics', schema: ANALYTICS_SCHEMA }),
  ],
  controllers: [...httpControllers, ...eventHandlers],
  providers: [...useCases, ...readModels, ...liveStream],
})
export class AnalyticsModule {}
