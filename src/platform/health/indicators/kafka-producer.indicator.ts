import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { Environment } from '../../config/environment';
import { kafkaClientConfig } from '../../kafka/kafka-client';
import { KafkaProducer } from '../../kafka/kafka-producer';
import { DownLog } from './down-reason';
import { withTimeout } from './with-timeout';

/** The broker round trip the indicator makes (a kafkajs Admin has it). */
export type ClusterProbe = Pick<Admin, 'connect' | 'disconnect' | 'describeCluster'>;

/** Optional provider of the probe client (tests pass a fake). */
export const CLUSTER_PROBE = Symbol('CLUSTER_PROBE');

/**
 * `kafka:producer`: the producer is connected and the cluster answers a metadata request now.
 * kafkajs keeps a producer "connected" while its broker is gone (it only notices on the next
 * send), so the flag alone would keep a process ready through an outage.
 */
@Injectable()
export class KafkaProducerHealthIndicator implements OnApplicationShutdown {
  private probe?: ClusterProbe;
  private readonly newProbe: () => ClusterProbe;
  private readonly downLog = new DownLog(new Logger('Health'));

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly producer: KafkaProducer,
    config: ConfigService<Environment, true>,
    @Optional() @Inject(CLUSTER_PROBE) newProbe?: () => ClusterProbe,
  ) {
    this.newProbe =
      newProbe ??
      (() =>
        new Kafka({
          ...kafkaClientConfig(
            { KAFKA_BROKERS: config.get('KAFKA_BROKERS', { infer: true }), KAFKA_CLIENT_ID: config.get('KAFKA_CLIENT_ID', { infer: true }) },
            'health',
          ),
          connectionTimeout: 1000,
          requestTimeout: 2000,
          retry: { retries: 0 },
          logLevel: logLevel.NOTHING,
          logCreator: undefined,
        }).admin());
  }

  async check(timeoutMs = 2500): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('kafka:producer');
    if (!this.producer.isConnected) return check.down({ message: 'producer not connected' });
    try {
      if (!this.probe) {
        const probe = this.newProbe();
        this.probe = probe;
        await withTimeout(probe.connect(), timeoutMs, 'no Kafka broker answered');
      }
      const cluster = await withTimeout(this.probe.describeCluster(), timeoutMs, 'Kafka cluster did not answer');
      this.downLog.up('kafka:producer');
      return check.up({ brokers: cluster.brokers.length });
    } catch (e) {
      // A fresh client next time: kafkajs does not always recover one whose broker went away.
      const probe = this.probe;
      this.probe = undefined;
      void probe?.disconnect().catch(() => undefined);
      return check.down({ message: this.downLog.down('kafka:producer', e) });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.probe?.disconnect().catch(() => undefined);
  }
}
