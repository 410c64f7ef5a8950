import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Environment, ModuleName } from '../config/environment';
import { ConsumerGroupHealthIndicator } from './indicators/consumer-group.indicator';
import { DatabaseHealthIndicator } from './indicators/database.indicator';
import { KafkaProducerHealthIndicator } from './indicators/kafka-producer.indicator';
import { OutboxBacklogHealthIndicator } from './indicators/outbox-backlog.indicator';

/** How long a readiness answer is reused after its check settled. */
export const READY_REUSE_MS = 1000;

/**
 * Liveness (the process answers) and readiness: for every module this process runs, its database,
 * its consumer's group membership and its outbox age; and the producer's broker. 503 names each failing part.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  private readonly modules: ModuleName[];

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly database: DatabaseHealthIndicator,
    private readonly producer: KafkaProducerHealthIndicator,
    private readonly consumer: ConsumerGroupHealthIndicator,
    private readonly outbox: OutboxBacklogHealthIndicator,
    config: ConfigService<Environment, true>,
  ) {
    this.modules = config.get('MODULES', { infer: true });
  }

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'The process answers (restart it when this fails).' })
  live() {
    return this.health.check([() => this.indicator.check('process').up({ pid: process.pid })]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Databases, Kafka producer, every consumer group and outbox age are fine (route traffic here).' })
  ready(): Promise<HealthCheckResult> {
    // One check at a time, its answer shared by every probe that arrives while it runs or within a
    // second after: the route is public and unthrottled, and each check costs every module's pool a
    // query or two, so a flood of probes must not take the connections orders need.
    const now = Date.now();
    if (!this.lastReady || (this.lastReady.settledAt !== undefined && now - this.lastReady.settledAt >= READY_REUSE_MS)) {
      const entry: { result: Promise<HealthCheckResult>; settledAt?: number } = { result: this.checkReady() };
      const settled = () => (entry.settledAt = Date.now());
      entry.result.then(settled, settled);
      this.lastReady = entry;
    }
    return this.lastReady.result;
  }

  private lastReady?: { result: Promise<HealthCheckResult>; settledAt?: number };

  private checkReady(): Promise<HealthCheckResult> {
    return this.health.check([
      ...this.modules.map((m) => () => this.database.check(m)),
      () => this.producer.check(),
      ...this.modules.map((m) => () => this.consumer.check(m)),
      ...this.modules.map((m) => () => this.outbox.check(m)),
    ]);
  }
}
