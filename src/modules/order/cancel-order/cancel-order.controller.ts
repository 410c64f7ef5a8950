import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RequestId } from '../../../platform/http/request-id';
import { GetOrderService } from '../get-order/get-order.service';
import { OrderDetailsView } from '../get-order/get-order.service';
import { CancelOrderService } from './cancel-order.service';
import { OrderIdPipe } from '../order-id.pipe';

@ApiTags('orders')
@Controller('orders')
export class CancelOrderController {
  constructor(
    private readonly service: CancelOrderService,
    private readonly orders: GetOrderService,
  ) {}

  /** 200 with the CANCELLED order; 409 when the order is already final; 404 when unknown. */
  @Post(':id/cancel')
  @HttpCode(200)
  async cancel(@Param('id', OrderIdPipe) id: string, @RequestId() requestId: string): Promise<OrderDetailsView> {
    await this.service.cancel(id, requestId);
    return this.orders.get(id);
  }
}
