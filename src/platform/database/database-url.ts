import { ConfigService } from '@nestjs/config';
import { Environment, ModuleName } from '../config/environment';

/**
 * TCP keepalive for every connection to Postgres, idle 10 s before the first probe: a peer that went
 * silent (a failover without a reset, a NAT that dropped the flow) is then found dead by the kernel's
 * probes, minutes later, where without it a query waiting for its answer waited forever, holding its
 * pool slot (and its POST /orders its place under ORDER_MAX_PENDING).
 */
export const KEEP_ALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 } as const;

/**
 * The same from the server's side, for a session whose locks outlive its statements (the outbox
 * relay's advisory lock is held while a batch goes to Kafka): Postgres finds a client whose host died
 * after idle + interval × count seconds instead of the kernel's two hours, and ends the session.
 * Only on a direct connection: behind PgBouncer it sets the bouncer's link to Postgres, which
 * outlives the client, and PgBouncer's own `tcp_keepalive`/`tcp_keepidle` decide (session pooling;
 * the relay's LISTEN needs it anyway). Set with SET, as PgBouncer refuses startup options.
 */
export const SERVER_KEEPALIVE = { idleS: 10, intervalS: 5, count: 3 } as const;

/** `<MODULE>_DATABASE_URL` when set, else `DATABASE_URL`. */
export function databaseUrlFor(config: ConfigService<Environment, true>, module: ModuleName): string {
  const own = config.get(`${module.toUpperCase()}_DATABASE_URL` as keyof Environment, { infer: true }) as
    | string
    | undefined;
  return own ?? config.get('DATABASE_URL', { infer: true });
}
