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

/**
 * The broker refused a produced message as larger than it takes (MESSAGE_TOO_LARGE, or
 * RECORD_LIST_TOO_LARGE for its batch), however kafkajs wrapped the refusal.
 */
export function isMessageTooLarge(error: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): boolean => {
    if (!e || typeof e !== 'object' || depth > 4 || seen.has(e)) return false;
    seen.add(e);
    const { type, cause, originalError, errors } = e as { type?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
    return visit(cause, depth + 1) || visit(originalError, depth + 1) || (Array.isArray(errors) && errors.some((x) => visit(x, depth + 1)));
  };
  return visit(error, 0);
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * A dependency is away (Postgres restarting, connections cut), as opposed to this event or request
 * being bad: SQLSTATE class 08 (connection exception), 57P01-03 (shutdown, cannot connect now),
 * 53300 (too many connections), socket errors, pg's "Connection terminated", and TypeORM's use of a
 * transaction whose connection it released when that connection died (a query, or its COMMIT, which
 * then never left).
 */
export function isInfrastructureError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    const { code, message, name } = e as { code?: unknown; message?: unknown; name?: unknown };
    if (name === 'QueryRunnerProviderAlreadyReleasedError' || name === 'QueryRunnerAlreadyReleasedError') return true;
    if (typeof code === 'string' && (code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300' || CONNECTION_CODES.has(code))) {
      return true;
    }
    if (typeof message === 'string' && /Connection terminated|terminating connection|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) {
      return true;
    }
    e = (e as { driverError?: unknown; cause?: unknown }).driverError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}
