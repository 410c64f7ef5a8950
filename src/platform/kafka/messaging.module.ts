import { BeforeApplicationShutdown, DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment, ModuleName } from '../config/environment';
import { HttpDrain } from '../http/http-drain';
import { Inbox } from './inbox';
import { InboxPruner } from './inbox-pruner';
import { KafkaNaming } from './kafka-naming';
import { KafkaRegistry } from './kafka-registry';
import { KafkaProducer } from './kafka-producer';
import { Outbox } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { TopicProvisioner } from './topic-provisioner';

export interface MessagingOptions {
  module: ModuleName;
  schema: string;
}

@Injectable()
class MessagingLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(OutboxRelay) private readonly relay: OutboxRelay,
    @Inject(InboxPruner) private readonly pruner: InboxPruner,
    @Inject('MESSAGING_MODULE') private readonly module: ModuleName,
    private readonly registry: KafkaRegistry,
    private readonly http: HttpDrain,
  ) {}

  onApplicationBootstrap(): void {
    this.registry.relays.set(this.module, this.relay);
    this.relay.start();
    this.pruner.start();
  }

  /**
   * Stop consuming, then drain the outbox, while the database connection is still open: every
   * module's at once (KafkaRegistry.closeAll), the first hook to run starting it for all.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const prunerStopped = this.pruner.stop(); // a sweep in flight finishes beside the rest (bounded)
    // HTTP first: no new requests, and the ones in flight have written their outbox rows.
    await this.http.close();
    await this.registry.closeAll();
    await this.relay.stop(); // already stopped by closeAll, unless this module's relay was not registered
    await prunerStopped;
    this.registry.relays.delete(this.module);
  }
}

/** A module's outbox, inbox, outbox relay and inbox pruner, bound to the module's own schema and connection. */
@Module({})
export class MessagingModule {
  static forModule({ module, schema }: MessagingOptions): DynamicModule {
    const dataSource = getDataSourceToken(module);
    return {
      module: MessagingModule,
      providers: [
        { provide: 'MESSAGING_MODULE', useValue: module },
        { provide: Outbox, useValue: new Outbox(schema, module) },
        { provide: Inbox, inject: [dataSource], useFactory: (ds: DataSource) => new Inbox(schema, ds) },
        {
          provide: OutboxRelay,
          inject: [dataSource, KafkaProducer, KafkaNaming, TopicProvisioner, KafkaRegistry, ConfigService],
          useFactory: (
            ds: DataSource,
            producer: KafkaProducer,
            naming: KafkaNaming,
            topics: TopicProvisioner,
            registry: KafkaRegistry,
            config: ConfigService<Environment, true>,
          ) =>
            new OutboxRelay(ds, producer, naming, topics, {
              module,
              schema,
              observer: registry.observer,
              batchSize: config.get('OUTBOX_BATCH_SIZE', { infer: true }),
              pollMs: config.get('OUTBOX_POLL_MS', { infer: true }),
            }),
        },
        {
          provide: InboxPruner,
          inject: [dataSource, TopicProvisioner, KafkaNaming, KafkaRegistry, ConfigService],
          useFactory: (
            ds: DataSource,
            topics: TopicProvisioner,
            naming: KafkaNaming,
            registry: KafkaRegistry,
            config: ConfigService<Environment, true>,
          ) =>
            new InboxPruner(
              ds,
              {
                topics: () => {
                  const server = registry.servers.get(module);
                  return server && { consumed: server.subscriptions(), deadLetter: naming.deadLetterTopic(module), redrive: naming.redriveTopic(module) };
                },
                retention: (t) => topics.retention(t),
              },
              {
                module,
                schema,
                intervalMs: config.get('INBOX_PRUNE_INTERVAL_MS', { infer: true }),
                retentionMs: config.get('INBOX_RETENTION_MS', { infer: true }),
                retryDelaysMs: config.get('KAFKA_RETRY_DELAYS_MS', { infer: true }),
              },
            ),
        },
        MessagingLifecycle,
      ],
      exports: [Outbox, Inbox, OutboxRelay],
    };
  }
}
