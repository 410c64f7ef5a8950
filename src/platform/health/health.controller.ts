import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import { HealthCheck, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment, ModuleName } from '../config/environment';
import { KafkaProducer } from '../kafka/kafka-producer';
import { KafkaRegistry } from '../kafka/kafka-registry';

/** Liveness (the process answers) and readiness (its database, producer and every consumer it runs). */
@Controller('health')
export class HealthController {
  private readonly modules: ModuleName[];

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly registry: KafkaRegistry,
    private readonly producer: KafkaProducer,
    private readonly moduleRef: ModuleRef,
    config: ConfigService<Environment, true>,
  ) {
    this.modules = config.get('MODULES', { infer: true });
  }

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.indicator.check('process').up({ pid: process.pid })]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      ...this.modules.map((m) => () => this.database(m)),
      () => this.kafkaProducer(),
      ...this.modules.map((m) => () => this.consumer(m)),
    ]);
  }

  private async database(module: ModuleName): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(`db:${module}`);
    try {
      const ds = this.moduleRef.get<DataSource>(getDataSourceToken(module), { strict: false });
      await ds.query('SELECT 1');
      return check.up();
    } catch (e) {
      return check.down({ message: e instanceof Error ? e.message : String(e) });
    }
  }

  private kafkaProducer(): HealthIndicatorResult {
    const check = this.indicator.check('kafka:producer');
    return this.producer.isConnected ? check.up() : check.down({ message: 'producer not connected' });
  }

  private consumer(module: ModuleName): HealthIndicatorResult {
    const server = this.registry.servers.get(module);
    const check = this.indicator.check(`consumer:${module}`);
    if (!server) return check.down({ message: 'no consumer registered' });
    const state = server.consumerState;
    return state === 'joined'
      ? check.up({ group: server.groupId, state })
      : check.down({ group: server.groupId, state, message: server.consumerError ?? `consumer is ${state}` });
  }
}
