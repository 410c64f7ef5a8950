/**
 * A business error with a stable code (`WAREHOUSE.OUT_OF_STOCK`). Services throw these, never HTTP
 * exceptions: a Kafka handler calls the same service. The HTTP filter maps `kind` to a status, and
 * the Kafka transport treats them as permanent (retrying a broken rule can never pass).
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  abstract readonly kind: 'invalid' | 'not_found' | 'conflict' | 'unprocessable';
  readonly permanent = true;
  readonly details?: Record<string, unknown>;

  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}
