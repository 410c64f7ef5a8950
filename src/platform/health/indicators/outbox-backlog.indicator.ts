import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Environment, ModuleName } from '../../config/environment';
import { KafkaRegistry } from '../../kafka/kafka-registry';
import { describedKind, DownLog } from './down-reason';
import { withTimeout } from './with-timeout';

/**
 * `outbox:<module>`: the oldest event waiting in the module's outbox is younger than
 * HEALTH_OUTBOX_MAX_AGE_MS. An old backlog means the relay cannot publish (broker, lock, poison row).
 */
@Injectable()
export class OutboxBacklogHealthIndicator {
  private readonly maxAgeMs: number;
  private readonly downLog = new DownLog(new Logger('Health'));

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
      if (oldestAgeMs <= this.maxAgeMs) {
        this.downLog.up(`outbox:${module}`);
        return check.up(details);
      }
      // The relay logs its error in full as it happens.
      return check.down({ ...details, message: `oldest outbox event is ${Math.round(oldestAgeMs / 1000)} s old${relay.error ? `: ${describedKind(relay.error)}` : ''}` });
    } catch (e) {
      return check.down({ message: this.downLog.down(`outbox:${module}`, e) });
    }
  }
}
