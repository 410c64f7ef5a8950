/**
 * How a consumer failure is treated. Transient failures are retried; permanent ones go straight
 * to the module's dead-letter topic, because retrying them can never succeed.
 */
export class PermanentEventError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'PermanentEventError';
  }
}

export class TransientEventError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientEventError';
  }
}

/** Permanent when the error says so, or carries a stable business error code marked permanent. */
export function isPermanent(error: unknown): boolean {
  if (error instanceof PermanentEventError) return true;
  if (error instanceof TransientEventError) return false;
  return typeof error === 'object' && error !== null && (error as { permanent?: unknown }).permanent === true;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
