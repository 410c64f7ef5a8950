import { ConfigService } from '@nestjs/config';
import { Environment, ModuleName } from '../config/environment';

/**
 * TCP keepalive for every connection to Postgres, idle 10 s before the first probe: a peer that went
 * silent (a failover without a reset, a NAT that dropped the flow) is then found dead by the kernel's
 * probes, minutes later, where without it a query waiting for its answer waited forever, holding its
 * pool slot (and its POST /orders its place under ORDER_MAX_PENDING).
 */
export const KEEP_ALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 } as const;

/** `<MODULE>_DATABASE_URL` when set, else `DATABASE_URL`. */
export function databaseUrlFor(config: ConfigService<Environment, true>, module: ModuleName): string {
  const own = config.get(`${module.toUpperCase()}_DATABASE_URL` as keyof Environment, { infer: true }) as
    | string
    | undefined;
  return own ?? config.get('DATABASE_URL', { infer: true });
}
