import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { Environment } from './platform/config/environment';
import { strictValidationPipe } from './platform/http/validation-pipe';
import { createKafka } from './platform/kafka/kafka-client';
import { KafkaNaming } from './platform/kafka/kafka-naming';
import { KafkaProducer } from './platform/kafka/kafka-producer';
import { KafkaRegistry } from './platform/kafka/kafka-registry';
import { ModuleKafkaServer } from './platform/kafka/module-kafka.server';
import { TopicProvisioner } from './platform/kafka/topic-provisioner';

/** Builds the app for `env`: HTTP for the chosen modules and one Kafka consumer group per module. */
export async function createApp(env: Environment): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(env),
    new FastifyAdapter({ bodyLimit: 256 * 1024, trustProxy: false, genReqId: () => randomUUID() }),
    { bufferLogs: false, logger: env.NODE_ENV === 'test' ? ['error', 'warn'] : undefined },
  );
  app.useGlobalPipes(strictValidationPipe());
  app.enableShutdownHooks();

  const registry = app.get(KafkaRegistry);
  for (const module of env.MODULES) {
    const server = new ModuleKafkaServer({
      module,
      kafka: createKafka(env, module),
      naming: app.get(KafkaNaming),
      producer: app.get(KafkaProducer),
      topics: app.get(TopicProvisioner),
      partitionsConsumedConcurrently: env.KAFKA_PARTITIONS_CONCURRENCY,
      retries: env.KAFKA_HANDLER_RETRIES,
      retryBackoffMs: env.KAFKA_RETRY_BACKOFF_MS,
      retryDelaysMs: env.KAFKA_RETRY_DELAYS_MS,
      observer: registry.observer,
    });
    registry.servers.set(module, server);
    // The global filter hands handler errors back unchanged (see DomainErrorFilter).
    app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  }
  return app;
}

/** Starts consumers and HTTP; returns the bound URL. */
export async function startApp(app: NestFastifyApplication, env: Environment): Promise<string> {
  await app.startAllMicroservices();
  await app.listen(env.PORT, env.HOST);
  const url = await app.getUrl();
  new Logger('Bootstrap').log(`modules [${env.MODULES.join(', ')}] listening on ${url}`);
  return url;
}
