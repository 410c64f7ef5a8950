import { plainToInstance, Transform } from 'class-transformer';
import {
  ArrayNotEmpty,
  ArrayUnique,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';

export const MODULE_NAMES = ['order', 'warehouse', 'email', 'analytics'] as const;
export type ModuleName = (typeof MODULE_NAMES)[number];

// validateEnvironment drops empty values first, so these see a set value or none.
const toInt = ({ value }: { value: unknown }) => (value === undefined ? undefined : Number(value));
// true/false, 1/0, yes/no, on/off in any case; anything else stays as it was and fails @IsBoolean, so a
// typo (`KAFKA_SSL=ture`) stops start-up instead of quietly meaning false.
const BOOLEANS = new Map([...['true', '1', 'yes', 'on'].map((s) => [s, true] as const), ...['false', '0', 'no', 'off'].map((s) => [s, false] as const)]);
const toBool = ({ value }: { value: unknown }) => (typeof value === 'string' ? (BOOLEANS.get(value.trim().toLowerCase()) ?? value) : value);
const toList = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : value;

// Security rules (docs/security.md): a rule that reads other variables, reported under this one's name.
const Rule = (name: string, check: (value: unknown, env: Environment) => boolean, message: string) =>
  ValidateBy({ name, validator: { validate: (value, args) => check(value, args?.object as Environment), defaultMessage: () => message } });
const isProduction = (env: Environment) => env.NODE_ENV === 'production';
/** Whether clients other than this host's own reach the app: bound beyond loopback, or behind a proxy. */
const reachable = (env: Environment) =>
  (env.TRUST_PROXY?.length ?? 0) > 0 || !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(env.HOST);
const readableFile = (value: unknown) => typeof value === 'string' && existsSync(value);
/** An IPv4 or IPv6 address, or a CIDR range of either. */
const isAddressOrRange = (value: unknown) => {
  if (typeof value !== 'string') return false;
  const [address, bits, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
};
/** The shipped ADMIN_TOKEN (and anything that still starts like it) is refused in production. */
export const DEFAULT_ADMIN_TOKEN = 'change-me-admin-token';
export const KAFKA_SASL_MECHANISMS = ['scram-sha-256', 'scram-sha-512', 'plain'] as const;

/**
 * Every variable the app reads, declared once and validated at start-up.
 * `.env.example` documents each of them; a test keeps the two in step.
 */
export class Environment {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @IsString()
  HOST = '127.0.0.1';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Transform(toList)
  @IsIn(MODULE_NAMES, { each: true, message: `MODULES must be a comma list of: ${MODULE_NAMES.join(', ')}` })
  @ArrayNotEmpty({ message: 'MODULES must name at least one module (unset: all of them)' })
  @ArrayUnique({ message: 'MODULES must name each module once' })
  MODULES: ModuleName[] = [...MODULE_NAMES];

  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/shop';

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'ORDER_DATABASE_URL must be a postgres:// URL' })
  ORDER_DATABASE_URL?: string;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'WAREHOUSE_DATABASE_URL must be a postgres:// URL' })
  WAREHOUSE_DATABASE_URL?: string;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'EMAIL_DATABASE_URL must be a postgres:// URL' })
  EMAIL_DATABASE_URL?: string;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'ANALYTICS_DATABASE_URL must be a postgres:// URL' })
  ANALYTICS_DATABASE_URL?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  /**
   * node-postgres pipeline mode: a connection sends the next statement without waiting for the
   * answer to the last, so the writes a consumer run flushes before its commit cost one round trip
   * together instead of one each: lower latency (p50 −9 to −20 % at 100 orders/s). At saturation
   * runs then get smaller and cost ~5-10 % more CPU per order: false for a box that runs saturated.
   * Off sends statements one at a time, as node-postgres does by default (docs/performance.md).
   */
  @Transform(toBool)
  @IsBoolean()
  DATABASE_PIPELINE = true;

  /**
   * Postgres ends a session that sits inside a transaction without a statement for this long
   * (`idle_in_transaction_session_timeout`, sent when each pooled connection starts; 0 = never).
   * A process that froze mid-transaction (paused VM, SIGSTOP, a stuck event loop) otherwise keeps
   * its row locks, and every order, key or stock row it held waits for it, on every instance. The
   * app's own transactions never idle on anything but its event loop. Not the outbox relay's
   * session: it holds its lock across the send to Kafka by design (server keepalive covers it).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  // Postgres takes at most 2^31-1 ms; more failed on every connection or read, not here naming the variable.
  @Max(2_147_483_647)
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

  @Matches(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, { message: 'KAFKA_BROKERS must be a comma list of host:port' })
  KAFKA_BROKERS = '127.0.0.1:9092';

  @IsString()
  @MinLength(1)
  KAFKA_CLIENT_ID = 'shop';

  @IsString()
  @Matches(/^[a-zA-Z0-9._-]*$/, { message: 'KAFKA_GROUP_PREFIX may hold letters, digits, dot, dash, underscore' })
  KAFKA_GROUP_PREFIX = '';

  @IsString()
  @Matches(/^[a-zA-Z0-9._-]*$/, { message: 'KAFKA_TOPIC_PREFIX may hold letters, digits, dot, dash, underscore' })
  KAFKA_TOPIC_PREFIX = '';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  KAFKA_TOPIC_PARTITIONS = 6;

  /**
   * Partitions of the retry topics the app creates. A group fetches every partition it is assigned in
   * every fetch (kafkajs has no fetch sessions), so retry topics, empty nearly always, cost each fetch
   * as much as the event topics do. With one partition, one member of a group takes the retries
   * (they are few); a key's retries stay in order at any count.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  KAFKA_RETRY_TOPIC_PARTITIONS = 1;

  /**
   * Replicas of each topic the app creates (events, retry, DLQ). Unset: as many as the cluster has
   * brokers, up to 3, read when the topics are created; a topic that exists is never altered.
   */
  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  KAFKA_REPLICATION_FACTOR?: number;

  /**
   * Streams of runs per topic a module handles side by side: the partition batches of one fetch are
   * spread over them, and the partitions of a stream share its runs (transactions).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  KAFKA_PARTITIONS_CONCURRENCY = 3;

  /** Consecutive events of a topic's stream (one or more partitions) whose effects share one transaction (1: one each). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  KAFKA_BATCH_MAX_EVENTS = 100;

  /**
   * A shared transaction commits once it is this old (ms), so its locks and latency stay bounded.
   * Runs only grow this long while a backlog waits (a run also ends with its fetched batch); 100 ms
   * cut them to 3-5 events on a loaded box, where begin, inbox, outbox and commit cost more than the
   * effects (docs/performance.md).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60_000)
  KAFKA_BATCH_MAX_MS = 500;

  /**
   * Lock wait inside a shared transaction before it falls back to one transaction per event. A
   * group's runs run side by side and may lock the same rows (analytics: the current minute's
   * counters, written by every run before its commit); about a run's length lets one wait for the other.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60_000)
  KAFKA_BATCH_LOCK_TIMEOUT_MS = 1000;

  /**
   * Offsets of handled events are committed to Kafka at most this often (ms), in the background,
   * instead of after every run with the run waiting for it: a hop no longer waits for an offset
   * commit before the next fetch (docs/performance.md). Only ever after the effects are committed; a
   * crash redelivers at most this much, and the inbox absorbs it. 0 commits after every run. Each
   * commit is a request per group, so a short interval costs the broker at a modest rate (a second:
   * 16 % less broker CPU per order at 20 orders/s than 100 ms); Kafka's own clients default to 5 s.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000)
  KAFKA_COMMIT_INTERVAL_MS = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10)
  KAFKA_HANDLER_RETRIES = 2;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60_000)
  KAFKA_RETRY_BACKOFF_MS = 200;

  /** Delays of the retry topics after the in-place retries: `<module>.retry.1`, `.retry.2`, ... then `.dlq`. */
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.split(',').filter((s) => s.trim() !== '').map((s) => Number(s.trim())) : value,
  )
  @IsInt({ each: true, message: 'KAFKA_RETRY_DELAYS_MS must be a comma list of whole milliseconds' })
  @Min(0, { each: true })
  @Max(24 * 3600 * 1000, { each: true })
  KAFKA_RETRY_DELAYS_MS: number[] = [1000, 10_000];

  @Transform(toBool)
  @IsBoolean()
  KAFKA_AUTOSTART_LOCAL = true;

  // Kafka security (docs/security.md): TLS with our own CA and optional client certificate, SASL on top.
  @Transform(toBool)
  @IsBoolean()
  KAFKA_SSL = false;

  @IsOptional()
  @Rule('readable', readableFile, 'KAFKA_SSL_CA_FILE must name an existing PEM file')
  @Rule('with-tls', (_, env) => env.KAFKA_SSL === true, 'KAFKA_SSL_CA_FILE is only used with KAFKA_SSL=true: set it, or unset the file')
  KAFKA_SSL_CA_FILE?: string;

  @ValidateIf((env: Environment) => env.KAFKA_SSL_CERT_FILE !== undefined || env.KAFKA_SSL_KEY_FILE !== undefined)
  @Rule('readable', readableFile, 'KAFKA_SSL_CERT_FILE must name an existing PEM file, and is required with KAFKA_SSL_KEY_FILE')
  @Rule('with-tls', (_, env) => env.KAFKA_SSL === true, 'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE are only used with KAFKA_SSL=true: set it, or unset them')
  KAFKA_SSL_CERT_FILE?: string;

  @ValidateIf((env: Environment) => env.KAFKA_SSL_CERT_FILE !== undefined || env.KAFKA_SSL_KEY_FILE !== undefined)
  @Rule('readable', readableFile, 'KAFKA_SSL_KEY_FILE must name an existing PEM file, and is required with KAFKA_SSL_CERT_FILE')
  KAFKA_SSL_KEY_FILE?: string;

  @Transform(toBool)
  @IsBoolean()
  @Rule('verified', (v, env) => v === true || !isProduction(env), 'KAFKA_SSL_REJECT_UNAUTHORIZED=false is refused when NODE_ENV=production (use KAFKA_SSL_CA_FILE)')
  KAFKA_SSL_REJECT_UNAUTHORIZED = true;

  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : typeof value === 'string' ? value.toLowerCase() : value))
  @IsOptional()
  @IsIn(KAFKA_SASL_MECHANISMS, { message: `KAFKA_SASL_MECHANISM must be one of: ${KAFKA_SASL_MECHANISMS.join(', ')} (or empty for none)` })
  @Rule(
    'plain-over-tls',
    (v, env) => v !== 'plain' || env.KAFKA_SSL || !isProduction(env),
    'KAFKA_SASL_MECHANISM=plain sends the password in clear text: set KAFKA_SSL=true when NODE_ENV=production',
  )
  KAFKA_SASL_MECHANISM?: (typeof KAFKA_SASL_MECHANISMS)[number];

  @ValidateIf((env: Environment) => env.KAFKA_SASL_MECHANISM !== undefined || env.KAFKA_SASL_USERNAME !== undefined)
  @IsString({ message: 'KAFKA_SASL_USERNAME is required when KAFKA_SASL_MECHANISM is set' })
  @MinLength(1)
  @Rule(
    'with-mechanism',
    (_, env) => env.KAFKA_SASL_MECHANISM !== undefined,
    'KAFKA_SASL_USERNAME is only used with KAFKA_SASL_MECHANISM: set it, or unset the username (else the app connects unauthenticated)',
  )
  KAFKA_SASL_USERNAME?: string;

  @ValidateIf((env: Environment) => env.KAFKA_SASL_MECHANISM !== undefined || env.KAFKA_SASL_PASSWORD !== undefined)
  @IsString({ message: 'KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM is set' })
  @MinLength(1, { message: 'KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM is set' })
  @Rule('with-mechanism', (_, env) => env.KAFKA_SASL_MECHANISM !== undefined, 'KAFKA_SASL_PASSWORD is only used with KAFKA_SASL_MECHANISM: set it, or unset the password')
  KAFKA_SASL_PASSWORD?: string;

  /**
   * The relay's fallback poll. Each insert into an outbox wakes its relay by NOTIFY, so the poll only
   * matters when a relay takes over rows another process left behind (its peer held the schema's
   * lock, then stopped, and no new row came). At 500 ms the four relays of an idle app sent 16 of its
   * 18.6 queries a second.
   */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(60_000)
  OUTBOX_POLL_MS = 5000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  OUTBOX_BATCH_SIZE = 500;

  /**
   * How often each module deletes inbox rows no event can need any more (0: never); the first sweep
   * runs a minute after start, or after this interval when shorter. The inbox keeps a row per event
   * and handler, so without this it grows for as long as the app runs.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(24 * 3600 * 1000)
  INBOX_PRUNE_INTERVAL_MS = 3_600_000;

  /**
   * How long an inbox row is kept. Unset (the default): as long as the module's topics can still
   * deliver its event (their retention.ms + segment.ms, read from the broker; the DLQ's and the
   * redrive topic's added together; plus the retry delays and an hour), and forever when a topic
   * keeps events forever or is compacted. Shorter than that, a replay from before then would run
   * those events' effects again: the first sweep warns.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  INBOX_RETENTION_MS?: number;

  /** SIGTERM: consumers stop, the outbox drains, connections close; past this the process exits anyway. */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  SHUTDOWN_TIMEOUT_MS = 25_000;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  IDEMPOTENCY_KEY_TTL_MS = 24 * 3600 * 1000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  ORDER_RESERVATION_TIMEOUT_MS = 5 * 60 * 1000;

  // A timer's delay: Node runs one above 2^31 - 1 ms after 1 ms, so the sweep would run back to back.
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(3_600_000)
  ORDER_EXPIRY_SWEEP_MS = 5000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  ORDER_STUCK_AFTER_MS = 60 * 1000;

  /** Analytics live stream: how often each dashboard gets one batched message (ms). */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(10_000)
  ANALYTICS_LIVE_FLUSH_MS = 300;

  /** How long the live stream keeps changes for a dashboard that just loaded its snapshot (ms). */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  ANALYTICS_LIVE_HISTORY_MS = 60_000;

  /** Live stream (/live) connections this process holds at most; more are refused until some close. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  ANALYTICS_LIVE_MAX_CONNECTIONS = 1000;

  @IsString()
  @MinLength(8, { message: 'ADMIN_TOKEN must be at least 8 characters' })
  @Matches(/^\S+$/, { message: 'ADMIN_TOKEN must not contain whitespace (a trailing newline from a secret file?): no Authorization header could carry it' })
  @Rule(
    'production-secret',
    (v, env) => !isProduction(env) || (typeof v === 'string' && v.length >= 24 && !v.startsWith('change-me')),
    'ADMIN_TOKEN must be changed from the default and be at least 24 characters when NODE_ENV=production',
  )
  // Whatever NODE_ENV says (a bare `node dist/main` leaves it development): the published default
  // never guards an app that others can reach.
  @Rule(
    'reachable-secret',
    (v, env) => !reachable(env) || (typeof v === 'string' && !v.startsWith('change-me')),
    'ADMIN_TOKEN must be changed from the default when the app listens beyond loopback (HOST) or behind a proxy (TRUST_PROXY)',
  )
  ADMIN_TOKEN = DEFAULT_ADMIN_TOKEN;

  // Rate limits per client IP and route on the HTTP API (health and metrics are exempt). Unset max: 300 under
  // NODE_ENV=production, 100000 otherwise (development and tests are not throttled; see rateLimitMax).
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(24 * 3_600_000)
  RATE_LIMIT_TTL_MS = 60_000;

  @Transform(toInt)
  @IsOptional()
  @IsInt()
  @Min(1)
  RATE_LIMIT_MAX?: number;

  /**
   * The proxies in front of the app (an ingress, a load balancer) whose X-Forwarded-For names the
   * client: a comma list of their addresses or CIDR ranges. Unset: none, and every request's client
   * is the connection's peer, so behind an ingress all customers would share one rate-limit window.
   * Never "trust everyone", nor a hop count (which trusts whatever peer connects): a client reaching
   * the app directly could then pick its own address with the header, and walk past the rate limit.
   */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value))
  @IsOptional()
  @Rule(
    'proxies',
    (v) => Array.isArray(v) && v.length > 0 && v.every(isAddressOrRange),
    'TRUST_PROXY must be a comma list of proxy addresses or CIDR ranges (10.0.0.0/8, 127.0.0.1): a hop count or "true" would trust any client that connects directly',
  )
  TRUST_PROXY?: string[];

  // Browser origins allowed to call the API (CORS); empty: none (same-origin only).
  @Transform(toList)
  @Matches(/^https?:\/\/[^/\s*,]+$/, { each: true, message: 'CORS_ORIGINS must be a comma list of origins like https://shop.example.com' })
  CORS_ORIGINS: string[] = [];

  // Unset: info, or warn under NODE_ENV=test (quiet test runs).
  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

  // Analytics: a statement of an HTTP read of the read models (summary, timeseries, dashboard snapshot)
  // longer than this is cancelled and answered 503: the reads share the module's pool with the projections.
  @Transform(toInt)
  @IsInt()
  @Min(1)
  // Postgres takes at most 2^31-1 ms; more failed on every connection or read, not here naming the variable.
  @Max(2_147_483_647)
  ANALYTICS_READ_TIMEOUT_MS = 5_000;

  // Observability: readiness fails when a module's oldest outbox event is older than this.
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  HEALTH_OUTBOX_MAX_AGE_MS = 60_000;

  // How often consumer lag, DLQ size and outbox backlog are sampled for /metrics (never per scrape).
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(300_000)
  METRICS_SAMPLE_INTERVAL_MS = 5000;

  // Email (ADR 0002). Without SMTP_URL, mails are rendered and logged instead of sent; production requires it.
  @ValidateIf((env: Environment) => env.NODE_ENV === 'production' || env.SMTP_URL !== undefined)
  @Matches(/^smtps?:\/\/[^\s]+$/, {
    message: 'SMTP_URL must be an smtp:// or smtps:// URL, and is required when NODE_ENV=production (mail would be lost)',
  })
  SMTP_URL?: string;

  @IsString()
  @MinLength(3)
  SMTP_FROM = 'shop@localhost';

  @Transform(toBool)
  @IsBoolean()
  @Rule('verified', (v, env) => v === true || !isProduction(env), 'SMTP_TLS_REJECT_UNAUTHORIZED=false is refused when NODE_ENV=production')
  SMTP_TLS_REJECT_UNAUTHORIZED = true;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(300_000)
  SMTP_TIMEOUT_MS = 10_000;

  /**
   * How long an SMTP attempt waits for any reply once connected, the reply to the end of a mail's
   * DATA above all: RFC 5321 (4.5.3.2.6) says 10 minutes. A content-scanning relay can take longer
   * than SMTP_TIMEOUT_MS to say 250 after it has queued the mail; giving up then and sending again
   * would deliver it twice.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  SMTP_REPLY_TIMEOUT_MS = 600_000;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  EMAIL_RETRY_BASE_MS = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(24 * 3_600_000)
  EMAIL_RETRY_MAX_MS = 5 * 60 * 1000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  EMAIL_MAX_ATTEMPTS = 30;

  /** Mails claimed and sent at once (never two of one order); 1 sends one at a time. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  EMAIL_DELIVERY_CONCURRENCY = 8;

  /**
   * How often mail delivery looks for mails nothing woke it for (queued by another instance, or
   * whose interrupted attempt's lease ran out). Mails this instance queues or retries wake it at once.
   */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(3_600_000)
  EMAIL_DELIVERY_POLL_MS = 1000;

  // Benchmarks (bench/, docs/performance.md): exposes POST /bench/noop and GET /bench/stats. Never on otherwise.
  @Transform(toBool)
  @IsBoolean()
  @Rule('not-in-production', (v, env) => v !== true || !isProduction(env), 'BENCH_MODE=true is refused when NODE_ENV=production')
  BENCH_MODE = false;

  /** Group commit of POST /orders (docs/performance.md): concurrent orders share one transaction. 0 turns it off. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(50)
  ORDER_GROUP_COMMIT_WINDOW_MS = 1;

  /** At most this many orders per group-commit transaction. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  ORDER_GROUP_COMMIT_MAX = 64;

  /**
   * POST /orders waiting in this process (for a transaction, a connection or a group-commit batch)
   * beyond which a new one is answered 503 + Retry-After at once: under overload a client learns it
   * in a millisecond instead of after seconds in a queue, and memory stays bounded.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  ORDER_MAX_PENDING = 1000;
}

/** Validates process.env for @nestjs/config; a bad variable stops start-up with its name. */
/** What a command-line tool puts in place of ADMIN_TOKEN: long enough, not the default, and never read. */
const UNREAD_ADMIN_TOKEN = 'not-read-by-command-line-tools';

/**
 * The configuration of a command-line tool (replay, DLQ, analytics rebuild). It serves no HTTP, so
 * ADMIN_TOKEN is not checked: a `docker compose run` of one has none unless the shell exports it,
 * and in the image (NODE_ENV=production, HOST=0.0.0.0) the default was refused mid-recovery.
 */
export function validateToolEnvironment(raw: Record<string, unknown>): Environment {
  return validateEnvironment({ ...raw, ADMIN_TOKEN: UNREAD_ADMIN_TOKEN });
}

export function validateEnvironment(raw: Record<string, unknown>): Environment {
  // An empty value is a variable not set (a `.env` line such as `PORT=`): its default applies. A
  // list is the exception: empty is the empty list (KAFKA_RETRY_DELAYS_MS= means no retry topics).
  const defaults = new Environment() as unknown as Record<string, unknown>;
  const set = Object.fromEntries(Object.entries(raw).filter(([key, value]) => value !== '' || Array.isArray(defaults[key])));
  const env = plainToInstance(Environment, set, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false });
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return env;
}
