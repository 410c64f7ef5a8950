import { Body, Controller, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { AdminGuard } from '../../../platform/http/admin.guard';
import { RequestId } from '../../../platform/http/request-id';
import { ProductView } from '../product.view';
import { UpsertProductDto } from './upsert-product.dto';
import { UpsertProductService } from './upsert-product.service';

@ApiTags('products')
@ApiBearerAuth()
@Controller('products')
export class UpsertProductController {
  constructor(private readonly service: UpsertProductService) {}

  /** Admin: 201 when created, 200 when updated. */
  @Post()
  @UseGuards(AdminGuard)
  async upsert(
    @Body() dto: UpsertProductDto,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ProductView> {
    const { created, product } = await this.service.upsert(dto, requestId);
    void reply.status(created ? 201 : 200);
    return product;
  }
}
