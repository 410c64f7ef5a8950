import { DynamicModule, Inject, Module, OnModuleInit } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { Environment } from '../config/environment';
import { KafkaRegistry } from '../kafka/kafka-registry';
import { AsyncApiController } from './asyncapi.controller';
import { loggerParams } from './logging';
import { LoggingObserver } from './logging-observer';
import { Metrics } from './metrics';
import { MetricsController } from './metrics.controller';
import { ObservabilitySampler } from './observability-sampler';

export interface ObservabilityOptions {
  /** Where log lines go (default stdout); tests pass a stream to read them. */
  logStream?: DestinationStream;
}

/** Registers metrics and event logging as observers of the Kafka plumbing. */
class ObserverRegistration implements OnModuleInit {
  constructor(
    @Inject(KafkaRegistry) private readonly registry: KafkaRegistry,
    @Inject(Metrics) private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.registry.addObserver(this.metrics);
    this.registry.addObserver(new LoggingObserver());
  }
}

/** Logs (pino JSON with correlation ids), Prometheus metrics at /metrics, the AsyncAPI document at /docs/events. */
@Module({})
export class ObservabilityModule {
  static forRoot(env: Environment, options: ObservabilityOptions = {}): DynamicModule {
    return {
      module: ObservabilityModule,
      global: true,
      imports: [LoggerModule.forRoot(loggerParams(env, options.logStream))],
      controllers: [MetricsController, AsyncApiController],
      providers: [Metrics, ObservabilitySampler, ObserverRegistration],
      exports: [Metrics],
    };
  }
}
