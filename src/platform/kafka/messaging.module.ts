import { BeforeApplicationShutdown, DynamicModule, Inject, Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment, ModuleName } from '../config/environment';
import { HttpDrain } from '../http/http-drain';
import { Inbox } from './inbox';
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
class RelayLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  constructor(
    @Inject(OutboxRelay) private readonly relay: OutboxRelay,
    @Inject('MESSAGING_MODULE') private readonly module: ModuleName,
    private readonly registry: KafkaRegistry,
    private readonly http: HttpDrain,
  ) {}

  onApplicationBootstrap(): void {
    this.registry.relays.set(this.module, this.relay);
    this.relay.start();
  }

  /** Stop consuming, then drain the outbox, while the database connection is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    const started = Date.now();
    // HTTP first: no new requests, and the ones in flight have written their outbox rows.
    await this.http.close();
    await this.registry.servers.get(this.module)?.close();
    const consumerClosed = Date.now();
    await this.relay.stop();
    this.logger.log(
      `${this.module}: consumer closed in ${consumerClosed - started} ms, outbox drained in ${Date.now() - consumerClosed} ms`,
    );
    this.registry.relays.delete(this.module);
  }
}

/** A module's outbox, inbox and outbox relay, bound to the module's own schema and connection. */
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
        RelayLifecycle,
      ],
      exports: [Outbox, Inbox, OutboxRelay],
    };
  }
}
