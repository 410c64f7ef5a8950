import { ConfigService } from '@nestjs/config';
import { Environment, ModuleName } from '../config/environment';

/** `<MODULE>_DATABASE_URL` when set, else `DATABASE_URL`. */
export function databaseUrlFor(config: ConfigService<Environment, true>, module: ModuleName): string {
  const own = config.get(`${module.toUpperCase()}_DATABASE_URL` as keyof Environment, { infer: true }) as
    | string
    | undefined;
  return own ?? config.get('DATABASE_URL', { infer: true });
}
