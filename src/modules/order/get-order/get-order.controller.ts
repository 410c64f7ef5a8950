import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { AdminGuard } from '../../../platform/http/admin.guard';
import { OrderIdPipe } from '../order-id.pipe';
import { ORDER_STATUSES, OrderStatus } from '../order-status';
import { GetOrderService, OrderDetailsView, OrderPage } from './get-order.service';

export class ListOrdersQuery {
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: OrderStatus;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit = 50;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;
}

@ApiTags('orders')
@Controller('orders')
export class GetOrderController {
  constructor(private readonly service: GetOrderService) {}

  /**
   * Orders newest first, with their customers' addresses: an operator's view (admin token). A
   * customer reads the one order whose id POST /orders gave them.
   */
  @Get()
  @ApiBearerAuth()
  @UseGuards(AdminGuard)
  list(@Query() query: ListOrdersQuery): Promise<OrderPage> {
    return this.service.list(query);
  }

  /** The order with its status history (the audit trail). */
  @Get(':id')
  get(@Param('id', OrderIdPipe) id: string): Promise<OrderDetailsView> {
    return this.service.get(id);
  }
}
