import { Body, Controller, Param, Patch, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IsInt, Max, Min, NotEquals } from 'class-validator';
import { AdminGuard } from '../../../platform/http/admin.guard';
import { RequestId } from '../../../platform/http/request-id';
import { ProductView } from '../product.view';
import { SkuPipe } from '../sku.pipe';
import { RestockProductService } from './restock-product.service';

export class RestockDto {
  /** Units to add (negative to write off); the result may not go below zero. */
  @IsInt()
  @NotEquals(0)
  @Min(-100_000_000)
  @Max(100_000_000)
  delta: number;
}

@ApiTags('products')
@ApiBearerAuth()
@Controller('products')
export class RestockProductController {
  constructor(private readonly service: RestockProductService) {}

  @Patch(':sku/stock')
  @UseGuards(AdminGuard)
  restock(@Param('sku', SkuPipe) sku: string, @Body() dto: RestockDto, @RequestId() requestId: string): Promise<ProductView> {
    return this.service.restock(sku, dto.delta, requestId);
  }
}
