import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
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

  /** Orders newest first; pass `nextCursor` back as `cursor` for the next page. */
  @Get()
  list(@Query() query: ListOrdersQuery): Promise<OrderPage> {
    return this.service.list(query);
  }

  /** The order with its status history (the audit trail). */
  @Get(':id')
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<OrderDetailsView> {
    return this.service.get(id);
  }
}
