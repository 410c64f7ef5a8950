import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoLogger } from 'nestjs-pino';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { Environment } from './platform/config/environment';
import { pingDatabase } from './platform/health/indicators/database.indicator';
import { HttpDrain } from './platform/http/http-drain';
import { GuardedIoAdapter } from './platform/http/socket-adapter';
import { strictValidationPipe } from './platform/http/validation-pipe';
import { createKafka, registerKafkaSecurity } from './platform/kafka/kafka-client';
import { KafkaNaming } from './platform/kafka/kafka-naming';
import { KafkaProducer } from './platform/kafka/kafka-producer';
import { KafkaRegistry } from './platform/kafka/kafka-registry';
import { ModuleKafkaServer } from './platform/kafka/module-kafka.server';
import { TopicProvisioner } from './platform/kafka/topic-provisioner';
import { setupApiDocs } from './platform/observability/api-docs';
import { installHttpObservability } from './platform/observability/http-observability';
import { requestIdFromHeaders } from './platform/observability/logging';
import { ObservabilityOptions } from './platform/observability/observability.module';
import { applyHttpSecurity } from './platform/security/http-security';
import { verifyKafkaAccess } from './platform/security/kafka-startup-probe';

/**
 * Modules whose effects on one order commute across event types, so a consumer run may hold events
 * of several topics (ModuleKafkaServerOptions.runsMixTopics): analytics sets each fact field from the
 * first event that knows it. Not the warehouse or the order module: a cancellation must not share a
 * run with the placement it undoes.
 */
const RUNS_MIX_TOPICS: ReadonlySet<string> = new Set(['analytics']);

/** Builds the app for `env`: HTTP for the chosen modules and one Kafka consumer group per module. */
export async function createApp(env: Environment, observability: ObservabilityOptions = {}): Promise<NestFastifyApplication> {
  // Rejected credentials or an untrusted broker certificate stop here, before anything retries.
  await verifyKafkaAccess(env);
  registerKafkaSecurity(env);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(env, observability),
    // The request id (X-Request-Id or a new uuid) is the correlation id of everything it causes.
    // The client's address (rate limits key on it) from X-Forwarded-For only as far as TRUST_PROXY says.
    new FastifyAdapter({ bodyLimit: 256 * 1024, trustProxy: env.TRUST_PROXY ?? false, genReqId: requestIdFromHeaders }),
    { bufferLogs: true },
  );
  app.useLogger(app.get(PinoLogger));
  installHttpObservability(app);
  app.get(HttpDrain).install(app);
  setupApiDocs(app);
  await applyHttpSecurity(app, env);
  app.useGlobalPipes(strictValidationPipe());
  app.enableShutdownHooks();
  // Socket.io on the same HTTP server (the analytics module's /live namespace), its handshakes guarded.
  app.useWebSocketAdapter(new GuardedIoAdapter(app, { corsOrigins: env.CORS_ORIGINS, maxConnections: env.ANALYTICS_LIVE_MAX_CONNECTIONS }));

  const registry = app.get(KafkaRegistry);
  for (const module of env.MODULES) {
    const database = app.get<DataSource>(getDataSourceToken(module), { strict: false });
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
      batchMaxEvents: env.KAFKA_BATCH_MAX_EVENTS,
      batchMaxMs: env.KAFKA_BATCH_MAX_MS,
      batchLockTimeoutMs: env.KAFKA_BATCH_LOCK_TIMEOUT_MS,
      commitIntervalMs: env.KAFKA_COMMIT_INTERVAL_MS,
      runsMixTopics: RUNS_MIX_TOPICS.has(module),
      dependencyProbe: () => pingDatabase(database),
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
