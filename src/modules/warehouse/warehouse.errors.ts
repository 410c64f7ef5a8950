import { DomainError } from '../../platform/http/domain-error';

export class ProductNotFoundError extends DomainError {
  readonly code = 'WAREHOUSE.PRODUCT_NOT_FOUND';
  readonly kind = 'not_found';
  constructor(sku: string) {
    super(`product ${sku} does not exist`);
  }
}

export class NegativeStockError extends DomainError {
  readonly code = 'WAREHOUSE.NEGATIVE_STOCK';
  readonly kind = 'conflict';
  constructor(sku: string, available: number, delta: number) {
    super(`product ${sku} has ${available} available; a change of ${delta} would make it negative`, { available });
  }
}
