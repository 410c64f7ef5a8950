import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ModuleName } from '../../config/environment';
import { KafkaRegistry } from '../../kafka/kafka-registry';
import { describedKind } from './down-reason';

/**
 * `consumer:<module>`: the module's consumer is a member of its group. The state follows kafkajs
 * events (GROUP_JOIN, REBALANCING, CRASH, STOP), so a crashed consumer is caught even though the
 * process is up and its client still "connected" (nest terminus#2550).
 */
@Injectable()
export class ConsumerGroupHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly registry: KafkaRegistry,
  ) {}

  check(module: ModuleName): HealthIndicatorResult {
    const check = this.indicator.check(`consumer:${module}`);
    const server = this.registry.servers.get(module);
    if (!server) return check.down({ message: 'no consumer registered' });
    const state = server.consumerState;
    return state === 'joined'
      ? check.up({ group: server.groupId, state })
      : check.down({ group: server.groupId, state, message: publicConsumerError(state, server.consumerError) });
  }
}

/** A stall is described in our own words; a client's error only by its kind (the transport logs it whole as it happens). */
function publicConsumerError(state: string, error: string | undefined): string {
  if (state === 'stalled' && error) return error;
  return error ? `consumer is ${state}: ${describedKind(error)}` : `consumer is ${state}`;
}
