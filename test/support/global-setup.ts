/* eslint-disable @typescript-eslint/no-require-imports */
// Starts (or reuses) a real Kafka broker and Postgres for the e2e suites.
// A broker this setup starts is fresh (its own port and data) and is stopped in teardown.
const { ensureKafka, ensurePostgres } = require('../../scripts/infra');

export default async function globalSetup(): Promise<void> {
  const brokers = process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:19092';
  // Not DATABASE_URL: one exported for the app (a shared server) must not get test databases.
  const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const kafka = await ensureKafka(brokers, { fresh: true });
  const pg = await ensurePostgres(databaseUrl);
  process.env.TEST_KAFKA_BROKERS = brokers;
  process.env.TEST_DATABASE_URL = databaseUrl;
  (globalThis as Record<string, unknown>).__INFRA__ = { kafkaPort: kafka.started ? kafka.port : undefined, stopPg: pg.stop };
}
