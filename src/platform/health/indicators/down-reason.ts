import { Logger } from '@nestjs/common';
import { describeError } from '../../kafka/errors';
import { TimeoutError } from './with-timeout';

/**
 * What a failing check says in a health answer, which anyone may read (the routes take no token):
 * our own words (a timeout) whole, else only the error's kind and code. Drivers put host names,
 * user names and SQL in their messages; those go to the log (DownLog).
 */
export function publicReason(e: unknown): string {
  if (e instanceof TimeoutError) return e.message;
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return `${e instanceof Error ? e.name : 'Error'}${typeof code === 'string' && /^\w{1,40}$/.test(code) ? ` ${code}` : ''} (details in the log)`;
}

/** The kind of an error as describeError wrote it ("KafkaJSConnectionError: broker …" → "KafkaJSConnectionError"). */
export function describedKind(described: string): string {
  return /^[A-Za-z][\w.]{0,80}/.exec(described)?.[0] ?? 'Error';
}

/** Logs the detail of a failing check when it goes down or its detail changes, not on every probe. */
export class DownLog {
  private readonly last = new Map<string, string>();

  constructor(private readonly logger: Logger) {}

  /** Logs `e` unless it was the last detail logged for `key`; returns what the health answer says. */
  down(key: string, e: unknown): string {
    const detail = describeError(e);
    if (this.last.get(key) !== detail) {
      this.last.set(key, detail);
      this.logger.warn(`${key} is down: ${detail}`);
    }
    return publicReason(e);
  }

  up(key: string): void {
    this.last.delete(key);
  }
}
