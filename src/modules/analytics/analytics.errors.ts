import { DomainError } from '../../platform/http/domain-error';

export class InvalidTimeRangeError extends DomainError {
  readonly code = 'ANALYTICS.INVALID_RANGE';
  readonly kind = 'invalid';
}
