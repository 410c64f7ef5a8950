import { Module } from '@nestjs/common';
import { ModuleDatabaseModule } from '../../platform/database/module-database.module';
import { MessagingModule } from '../../platform/kafka/messaging.module';
import { EMAIL_SCHEMA } from './email.schema';
import { EmailInitial1764000000000 } from './migrations/1764000000000-email-initial';
import { OnOrderEventHandler } from './on-order-event/on-order-event.handler';

const eventHandlers = [OnOrderEventHandler];

@Module({
  imports: [
    ModuleDatabaseModule.forModule({ module: 'email', schema: EMAIL_SCHEMA, entities: [], migrations: [EmailInitial1764000000000] }),
    MessagingModule.forModule({ module: 'email', schema: EMAIL_SCHEMA }),
  ],
  controllers: [...eventHandlers],
})
export class EmailModule {}
