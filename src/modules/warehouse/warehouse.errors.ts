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

/** The stock columns are 32-bit: what a product holds (available and reserved) must fit. */
export const MAX_UNITS = 2_147_483_647;

export class StockLimitError extends DomainError {
  readonly code = 'WAREHOUSE.STOCK_LIMIT';
  readonly kind = 'conflict';
  constructor(sku: string, held: number, delta: number) {
    super(`product ${sku} holds ${held} units (available and reserved); adding ${delta} would pass the limit of ${MAX_UNITS}`, { held });
  }
}
