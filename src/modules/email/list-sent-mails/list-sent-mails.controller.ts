import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';
import { AdminGuard } from '../../../platform/http/admin.guard';
import { ListSentMailsService, SentMailView } from './list-sent-mails.service';

export class ListSentMailsQuery {
  @IsUUID()
  orderId: string;
}

@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('emails')
export class ListSentMailsController {
  constructor(private readonly service: ListSentMailsService) {}

  /** Every mail the order caused, with its status (QUEUED, SENDING, SENT, FAILED), attempts and last error. */
  @Get()
  async list(@Query() query: ListSentMailsQuery): Promise<{ orderId: string; items: SentMailView[] }> {
    return { orderId: query.orderId, items: await this.service.forOrder(query.orderId) };
  }
}
