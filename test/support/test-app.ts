import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { createApp, startApp } from '../../src/bootstrap';
import { Environment, validateEnvironment } from '../../src/platform/config/environment';
import { expectEventually } from './eventually';
import { createTestDatabase } from './test-database';

export const ADMIN_TOKEN = 'test-admin-token-123';

export interface TestStack {
  /** Topic and group prefix shared by every app of this stack (isolates suites on one broker). */
  prefix: string;
  databaseUrl: string;
  brokers: string;
  drop: () => Promise<void>;
}

/** A database and a Kafka namespace for one suite; apps started on it see the same topics. */
export async function createTestStack(label = 'e2e'): Promise<TestStack> {
  const db = await createTestDatabase(label);
  return {
    prefix: `t${randomBytes(4).toString('hex')}.`,
    databaseUrl: db.url,
    brokers: process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:19092',
    drop: db.drop,
  };
}

export function testEnvironment(stack: TestStack, overrides: Record<string, string> = {}): Environment {
  return validateEnvironment({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: stack.databaseUrl,
    DATABASE_POOL_SIZE: '5',
    KAFKA_BROKERS: stack.brokers,
    KAFKA_TOPIC_PREFIX: stack.prefix,
    KAFKA_GROUP_PREFIX: stack.prefix,
    KAFKA_TOPIC_PARTITIONS: '3',
    KAFKA_RETRY_BACKOFF_MS: '50',
    OUTBOX_POLL_MS: '200',
    ADMIN_TOKEN,
    ...overrides,
  });
}

export interface TestApp {
  app: NestFastifyApplication;
  env: Environment;
  url: string;
  http: TestAgent;
  admin: { Authorization: string };
  close: () => Promise<void>;
}

/**
 * Starts the app on a random port and waits until every consumer it runs has joined its group.
 * `observability.logStream` receives the app's JSON log lines (for tests that read them).
 */
export async function startTestApp(
  stack: TestStack,
  overrides: Record<string, string> = {},
  observability: Parameters<typeof createApp>[1] = {},
): Promise<TestApp> {
  const env = testEnvironment(stack, overrides);
  const app = await createApp(env, observability);
  const url = await startApp(app, env);
  const http = request(url);
  await expectEventually(async () => {
    const res = await http.get('/health/ready');
    if (res.status !== 200) throw new Error(`not ready: ${JSON.stringify(res.body)}`);
  }, 60_000, 200);
  return { app, env, url, http, admin: { Authorization: `Bearer ${ADMIN_TOKEN}` }, close: () => app.close() };
}

/** A log stream for startTestApp that keeps each line the app writes (JSON text) in `lines`. */
export function collectLogLines(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
}
