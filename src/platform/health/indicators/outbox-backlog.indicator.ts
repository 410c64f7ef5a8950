import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Environment, ModuleName } from '../../config/environment';
import { KafkaRegistry } from '../../kafka/kafka-registry';
import { withTimeout } from './with-timeout';

/**
 * `outbox:<module>`: the oldest event waiting in the module's outbox is younger than
 * HEALTH_OUTBOX_MAX_AGE_MS. An old backlog means the relay cannot publish (broker, lock, poison row).
 */
@Injectable()
export class OutboxBacklogHealthIndicator {
  private readonly maxAgeMs: number;

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly registry: KafkaRegistry,
    config: ConfigService<Environment, true>,
  ) {
    this.maxAgeMs = config.get('HEALTH_OUTBOX_MAX_AGE_MS', { infer: true });
  }

  async check(module: ModuleName, timeoutMs = 2000): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(`outbox:${module}`);
    const relay = this.registry.relays.get(module);
    if (!relay) return check.down({ message: 'no outbox relay running' });
    try {
      const { count, oldestAgeMs } = await withTimeout(relay.backlog(), timeoutMs, 'outbox backlog query did not answer');
      const details = { backlog: count, oldestAgeMs: Math.round(oldestAgeMs), maxAgeMs: this.maxAgeMs };
      if (oldestAgeMs <= this.maxAgeMs) return check.up(details);
      return check.down({ ...details, message: `oldest outbox event is ${Math.round(oldestAgeMs / 1000)} s old${relay.error ? `: ${relay.error}` : ''}` });
    } catch (e) {
      return check.down({ message: e instanceof Error ? e.message : String(e) });
    }
  }
}
