import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { AdminGuard } from '../../../platform/http/admin.guard';
import { ExpireReservationsService } from './expire-reservations.service';

export class StuckOrdersQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(7 * 24 * 3600 * 1000)
  olderThanMs?: number;
}

@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('admin/orders')
export class StuckOrdersController {
  constructor(private readonly service: ExpireReservationsService) {}

  /** Orders PENDING longer than ORDER_STUCK_AFTER_MS (or `olderThanMs`). */
  @Get('stuck')
  async stuck(@Query() query: StuckOrdersQuery) {
    const orders = await this.service.stuck(query.olderThanMs);
    return { count: orders.length, orders };
  }
}
