import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { Environment } from '../config/environment';
import { HttpThrottlerGuard } from './http-throttler.guard';
import { SlidingWindowStorage } from './sliding-window.storage';

/** The effective request limit per window: RATE_LIMIT_MAX, or its default (strict only under NODE_ENV=production). */
export function rateLimitMax(env: Pick<Environment, 'RATE_LIMIT_MAX' | 'NODE_ENV'>): number {
  // Production is strict by default; development is lenient so the demo load (npm run simulate) is not throttled.
  return env.RATE_LIMIT_MAX ?? (env.NODE_ENV === 'production' ? 300 : 100_000);
}

/** HTTP rate limits (docs/security.md); headers, CORS and the Kafka start-up probe are in bootstrap. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<Environment, true>) => ({
        throttlers: [
          {
            ttl: config.get('RATE_LIMIT_TTL_MS', { infer: true }),
            limit: rateLimitMax({ RATE_LIMIT_MAX: config.get('RATE_LIMIT_MAX', { infer: true }), NODE_ENV: config.get('NODE_ENV', { infer: true }) }),
          },
        ],
        // An IPv6 client is its /56 (a home or office gets a /56 or a /48), not its /64: one holder
        // of a /48 is 256 clients, not 65,536 with a budget each.
        ipv6SubnetPrefix: 56,
        errorMessage: 'too many requests: slow down and retry after the Retry-After header',
        // O(1) per request and per client, whatever the limit (Nest's default keeps every hit).
        storage: new SlidingWindowStorage(),
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: HttpThrottlerGuard }],
})
export class SecurityModule {}
