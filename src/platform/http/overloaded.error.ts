/**
 * A request refused because too much work of its kind is already waiting: the HTTP filter answers
 * 503 with Retry-After, at once, instead of queueing it behind seconds of others. Nothing was done.
 */
export class OverloadedError extends Error {
  readonly code = 'OVERLOADED';

  constructor(message: string) {
    super(message);
    this.name = 'OverloadedError';
  }
}
