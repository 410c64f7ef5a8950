import { Body, Controller, Post, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { RequestId } from '../../../platform/http/request-id';
import { OrderView } from '../order.view';
import { IdempotencyKey } from './idempotency-key.decorator';
import { PlaceOrderDto } from './place-order.dto';
import { PlaceOrderBodyPipe, PlaceOrderInput } from './place-order-body.pipe';
import { PlaceOrderService } from './place-order.service';

@ApiTags('orders')
@Controller('orders')
export class PlaceOrderController {
  constructor(private readonly service: PlaceOrderService) {}

  /** 201 with the PENDING order; a retry with the same Idempotency-Key and body returns the same answer. */
  @Post()
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiBody({ type: PlaceOrderDto })
  async place(
    // A plain type, so the global pipe leaves the body to PlaceOrderBodyPipe (same rules, same 400s).
    @Body(PlaceOrderBodyPipe) dto: PlaceOrderInput,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<OrderView> {
    const result = await this.service.place(dto, requestId, idempotencyKey);
    void reply.status(result.statusCode);
    if (result.replayed) void reply.header('idempotent-replayed', 'true');
    return result.body;
  }
}
