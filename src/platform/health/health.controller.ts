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
 * Liveness (the process answers), serving (its modules' databases answer: route HTTP here) and
 * readiness: for every module this process runs, its database, its consumer's group membership and
 * its outbox age; and the producer's broker. 503 names each failing part.
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
  @ApiOperation({ summary: 'Databases, Kafka producer, every consumer group and outbox age are fine (the whole process is up).' })
  ready(): Promise<HealthCheckResult> {
    return this.shared('ready', () => this.checkReady());
  }

  /**
   * Whether HTTP can do its work: the databases of the modules this process runs. Kafka, the consumer
   * groups and the outbox age are left out: orders wait in the outbox while the broker is away, and a
   * rebalance of a group every replica is in should not take every replica out of a load balancer at
   * once. The probe to route traffic by; /health/ready is the one to alert on.
   */
  @Get('serving')
  @HealthCheck()
  @ApiOperation({ summary: 'The databases of this process’s modules answer: HTTP can take orders (route traffic here).' })
  serving(): Promise<HealthCheckResult> {
    return this.shared('serving', () => this.health.check(this.modules.map((m) => () => this.database.check(m))));
  }

  /**
   * One check of a kind at a time, its answer shared by every probe that arrives while it runs or
   * within a second after: the routes are public and unthrottled, and each check costs every module's
   * pool a query or two, so a flood of probes must not take the connections orders need.
   */
  private shared(kind: 'ready' | 'serving', check: () => Promise<HealthCheckResult>): Promise<HealthCheckResult> {
    const now = Date.now();
    const last = this.last.get(kind);
    if (last && (last.settledAt === undefined || now - last.settledAt < READY_REUSE_MS)) return last.result;
    const entry: { result: Promise<HealthCheckResult>; settledAt?: number } = { result: check() };
    const settled = () => (entry.settledAt = Date.now());
    entry.result.then(settled, settled);
    this.last.set(kind, entry);
    return entry.result;
  }

  private readonly last = new Map<'ready' | 'serving', { result: Promise<HealthCheckResult>; settledAt?: number }>();

  private checkReady(): Promise<HealthCheckResult> {
    return this.health.check([
      ...this.modules.map((m) => () => this.database.check(m)),
      () => this.producer.check(),
      ...this.modules.map((m) => () => this.consumer.check(m)),
      ...this.modules.map((m) => () => this.outbox.check(m)),
    ]);
  }
}
