import { Module } from '@nestjs/common';
import { ModuleDatabaseModule } from '../../platform/database/module-database.module';
import { MessagingModule } from '../../platform/kafka/messaging.module';
import { ANALYTICS_SCHEMA } from './analytics.schema';
import { AnalyticsInitial1764000000000 } from './migrations/1764000000000-analytics-initial';
import { OnDomainEventHandler } from './on-domain-event/on-domain-event.handler';

const eventHandlers = [OnDomainEventHandler];

@Module({
  imports: [
    ModuleDatabaseModule.forModule({
      module: 'analytics',
      schema: ANALYTICS_SCHEMA,
      entities: [],
      migrations: [AnalyticsInitial1764000000000],
    }),
    MessagingModule.forModule({ module: 'analytics', schema: ANALYTICS_SCHEMA }),
  ],
  controllers: [...eventHandlers],
})
export class AnalyticsModule {}
