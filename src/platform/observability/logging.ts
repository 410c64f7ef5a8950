import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import pino, { DestinationStream, LoggerOptions } from 'pino';
import { Environment } from '../config/environment';
import { LogContext } from './log-context';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's `genReqId`: a well-formed `X-Request-Id`, or a new uuid. The request's id is its
 * correlation id: `RequestId` in controllers, the access log line and every event it causes.
 */
export function requestIdFromHeaders(req: { headers: IncomingMessage['headers'] }): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * Field names whose values never reach a log line, at the top of a line's object or one level down.
 * Not deeper: pino's `*.*.` paths copy every top-level value's children on every line (twice the
 * cost of each line, and a Buffer or URL among them no longer serializes).
 */
const SECRET_FIELDS = ['authorization', 'password', 'pass', 'smtpUrl', 'SMTP_URL', 'ADMIN_TOKEN', 'cardNumber'];

/** Structured fields that never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
];

const luhn = (digits: string): boolean => {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
};

/**
 * Scrubs secrets out of free text: URL passwords (`smtp://user:pass@host`), bearer and basic credentials, and
 * card-like numbers (13–19 digits from 2–6 passing the Luhn check, which spares timestamps and ids).
 */
export function scrub(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^:/\s@]*):[^@\s/]+@/gi, '$1:[redacted]@')
    .replace(/\b(bearer)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    // Base64 credentials have a digit, a + or / or padding; "basic authentication" is words.
    .replace(/\b(basic)\s+(?=[A-Za-z+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}/gi, '$1 [redacted]')
    // Card networks start with 2-6; epoch-millisecond timestamps (13 digits) start with 1.
    .replace(/\b[2-6](?:[ -]?\d){12,18}\b/g, (match) => {
      const digits = match.replace(/\D/g, '');
      return luhn(digits) ? `[card ****${digits.slice(-4)}]` : match;
    });
}

/**
 * Text with the local part of every e-mail address replaced, for lines that carry another system's
 * words (an SMTP server's reply repeats the recipient it refuses): customers' addresses stay out of
 * the logs. Not applied to every line: the development mail log names its recipient on purpose.
 */
export function redactAddresses(text: string, known: string[] = []): string {
  // The addresses we know first, whole and in any case (a quoted local part has spaces); then anything
  // shaped like one: the local part is everything up to the @ that cannot end an address in a reply.
  const literal = known.filter(Boolean).reduce((t, address) => t.replace(new RegExp(escapeRegExp(address), 'gi'), '[address]'), text);
  return literal.replace(/[^\s<>()[\],;:@"]+@([\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.[\p{L}]{2,})/gu, '[address]@$1');
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const scrubError = (value: unknown): unknown => {
  const serialized = pino.stdSerializers.err(value as Error) as unknown as Record<string, unknown>;
  if (typeof serialized?.message === 'string') serialized.message = scrub(serialized.message);
  if (typeof serialized?.stack === 'string') serialized.stack = scrub(serialized.stack);
  return serialized;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** A line's object with its string fields scrubbed (a `{ url: 'postgres://u:secret@db' }` too); a copy only when one changed. */
function scrubFields(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value !== 'string') continue;
    const clean = scrub(value);
    if (clean !== value) (out ??= { ...fields })[key] = clean;
  }
  return out ?? fields;
}

/** Level: LOG_LEVEL, or `warn` under NODE_ENV=test when LOG_LEVEL is not set (quiet test runs). */
export function logLevelOf(env: Pick<Environment, 'NODE_ENV' | 'LOG_LEVEL'>): string {
  return env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'warn' : 'info');
}

/**
 * The pino settings of the process: JSON lines (pretty in development unless a stream is given),
 * the flow's correlation id and event id on every line (from LogContext), secrets redacted.
 */
export function pinoOptions(env: Pick<Environment, 'NODE_ENV' | 'LOG_LEVEL'>, pretty: boolean): LoggerOptions {
  return {
    level: logLevelOf(env),
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    mixin: () => ({ ...LogContext.current() }),
    serializers: { err: scrubError, error: scrubError },
    hooks: {
      logMethod(args, method) {
        const clean = args.map((a) => (typeof a === 'string' ? scrub(a) : isPlainObject(a) ? scrubFields(a) : a)) as typeof args;
        method.apply(this, clean);
      },
    },
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  };
}

/** Probes and scrapes come at a fixed rate from the platform: no access line for them. */
export const QUIET_ROUTES = /^\/(health\/|metrics$)/;

/** The access line's level: error for 5xx, warn for 4xx, info otherwise. */
export function accessLogLevel(statusCode: number): 'error' | 'warn' | 'info' {
  return statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
}

/**
 * nestjs-pino's settings: the process logger only. Its per-request middleware (pino-http: two child
 * loggers and an async context per request, through middie) is not bound to any route; the access
 * line and the request's log context come from fastify hooks (installHttpObservability), which cost
 * a fraction of it (docs/performance.md).
 */
export function loggerParams(env: Pick<Environment, 'NODE_ENV' | 'LOG_LEVEL'>, stream?: DestinationStream): Params {
  const options: PinoHttpOptions = {
    ...pinoOptions(env, !stream && env.NODE_ENV === 'development'),
    // pino-http wraps these around its own: they get the raw request and response of an access line.
    serializers: {
      req: (req: { method?: string; url?: string }) => ({ method: req.method, url: req.url }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: scrubError,
      error: scrubError,
    },
  };
  if (stream) options.stream = stream;
  return { pinoHttp: options, forRoutes: [] };
}
