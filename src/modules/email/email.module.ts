import { Module } from '@nestjs/common';
import { ModuleDatabaseModule } from '../../platform/database/module-database.module';
import { MessagingModule } from '../../platform/kafka/messaging.module';
import { MailDeliveryService } from './deliver-mail/mail-delivery.service';
import { EMAIL_SCHEMA } from './email.schema';
import { ListSentMailsController } from './list-sent-mails/list-sent-mails.controller';
import { ListSentMailsService } from './list-sent-mails/list-sent-mails.service';
import { MailTransport } from './mail-transport';
import { EmailInitial1764000000000 } from './migrations/1764000000000-email-initial';
import { EmailSentMails1765000000000 } from './migrations/1765000000000-email-sent-mails';
import { EmailHeldMails1766000000000 } from './migrations/1766000000000-email-held-mails';
import { EmailSetupRefusals1767000000000 } from './migrations/1767000000000-email-setup-refusals';
import { OnOrderEventHandler } from './on-order-event/on-order-event.handler';
import { QueueOrderMailService } from './on-order-event/queue-order-mail.service';

const httpControllers = [ListSentMailsController];
const eventHandlers = [OnOrderEventHandler];
const useCases = [QueueOrderMailService, MailDeliveryService, ListSentMailsService];
const infrastructure = [MailTransport];

@Module({
  imports: [
    ModuleDatabaseModule.forModule({
      module: 'email',
      schema: EMAIL_SCHEMA,
      entities: [],
      migrations: [EmailInitial1764000000000, EmailSentMails1765000000000, EmailHeldMails1766000000000, EmailSetupRefusals1767000000000],
    }),
    MessagingModule.forModule({ module: 'email', schema: EMAIL_SCHEMA }),
  ],
  controllers: [...httpControllers, ...eventHandlers],
  providers: [...useCases, ...infrastructure],
})
export class EmailModule {}
