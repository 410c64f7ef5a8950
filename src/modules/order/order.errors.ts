import { DomainError } from '../../platform/http/domain-error';
import { OrderStatus } from './order-status';

export class UnknownSkuError extends DomainError {
  readonly code = 'ORDER.UNKNOWN_SKU';
  readonly kind = 'unprocessable';
  constructor(readonly skus: string[]) {
    super(`unknown SKU: ${skus.join(', ')}`, { skus });
  }
}

export class OrderNotFoundError extends DomainError {
  readonly code = 'ORDER.NOT_FOUND';
  readonly kind = 'not_found';
  constructor(orderId: string) {
    super(`order ${orderId} does not exist`);
  }
}

export class IllegalTransitionError extends DomainError {
  readonly code = 'ORDER.ILLEGAL_TRANSITION';
  readonly kind = 'conflict';
  constructor(orderId: string, from: OrderStatus, to: OrderStatus) {
    super(`order ${orderId} is ${from} and cannot become ${to}`, { status: from });
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'ORDER.IDEMPOTENCY_KEY_REUSED';
  readonly kind = 'unprocessable';
  constructor() {
    super('this Idempotency-Key was used with a different request body');
  }
}

export class InvalidCursorError extends DomainError {
  readonly code = 'ORDER.INVALID_CURSOR';
  readonly kind = 'invalid';
  constructor() {
    super('cursor is not valid');
  }
}
