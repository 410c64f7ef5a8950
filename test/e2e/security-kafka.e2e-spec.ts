import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { MODULE_NAMES, validateEnvironment } from '../../src/platform/config/environment';
import { InboxPruner } from '../../src/platform/kafka/inbox-pruner';
import { kafkaClientConfig } from '../../src/platform/kafka/kafka-client';
import { KafkaNaming } from '../../src/platform/kafka/kafka-naming';
import { KafkaRegistry } from '../../src/platform/kafka/kafka-registry';
import { grantModuleAccess } from '../../src/platform/security/kafka-acls';
import { expectEventually, within } from '../support/eventually';
import { placedEnvelope, publish } from '../support/kafka';
import { SecureBroker, SecureUser, startSecureBroker } from '../support/secure-kafka';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

const root = resolve(__dirname, '../..');

describe('Kafka over SASL_SSL with one least-privilege principal per module', () => {
  let broker: SecureBroker;
  let stack: TestStack;
  let app: TestApp | undefined;

  /** A kafkajs client built by the app's own config code, as `user`. */
  const clientAs = (user: SecureUser) =>
    new Kafka({
      ...kafkaClientConfig(validateEnvironment({ ...broker.env(user), KAFKA_CLIENT_ID: `e2e-${user}` }), 'test'),
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 100 },
    });

  beforeAll(async () => {
    broker = await startSecureBroker();
    stack = { ...(await createTestStack('secure')), brokers: broker.brokers };
    const admin = clientAs('admin').admin();
    await admin.connect();
    try {
      await grantModuleAccess(admin, new KafkaNaming(stack.prefix, stack.prefix), [...MODULE_NAMES], { partitions: 3 });
    } finally {
      await admin.disconnect();
    }
  }, 240_000);

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
    await broker?.stop();
  });

  it('runs the email module as the email principal and consumes order events written by the order principal', async () => {
    app = await startTestApp(stack, { MODULES: 'email', ...broker.env('email') });
    const placed = placedEnvelope({ orderId: '0b6f1c2e-8d4a-4c61-9a55-2f7e3d1b9c40', unitPriceCents: 1200 });
    await publish(clientAs('order'), `${stack.prefix}order.placed`, [{ key: placed.key, value: placed }]);
    await expectEventually(async () => {
      const rows = await query(stack.databaseUrl, 'SELECT 1 FROM email.inbox WHERE event_id = $1', [placed.eventId]);
      expect(rows).toHaveLength(1);
    }, 30_000);
    // Its outbox relay can see every event topic (Describe) and so does not try to create any.
    expect(app.app.get(KafkaRegistry).relays.get('email')?.error).toBeUndefined();
    // Its inbox pruner may read how long its topics keep events (DescribeConfigs): 7 days + 7 days of
    // segment here, twice for a dead letter redriven on its last day.
    expect(await app.app.get(InboxPruner, { strict: false }).horizon()).toEqual({ keepMs: 28 * 24 * 3_600_000 + 11_000 + 3_600_000 });
  });

  it('denies the email principal reading a warehouse topic and writing an order topic', async () => {
    await publish(clientAs('warehouse'), `${stack.prefix}stock.reserved`, [{ key: 'k', value: '{"secret":"stock"}' }]);
    const consumer = clientAs('email').consumer({ groupId: `${stack.prefix}email.probe`, retry: { retries: 0 } });
    const read: string[] = [];
    const crashed = new Promise<unknown>((done) => consumer.on(consumer.events.CRASH, (e) => done(e.payload.error)));
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [`${stack.prefix}stock.reserved`], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void read.push(String(message.value)) });
      expect(String(await within(crashed, 30_000, () => `the consumer did not crash on the denied topic; it read ${JSON.stringify(read)}`))).toMatch(/Not authorized to access topics: \[Topic authorization failed\]/);
      expect(read).toEqual([]);
    } finally {
      await consumer.disconnect();
    }
    await expect(publish(clientAs('email'), `${stack.prefix}order.placed`, [{ key: 'forged', value: '{}' }])).rejects.toThrow(
      /not authorized/i,
    );
  });

  it('stops start-up with one clear line, no stack trace and no password, when the password is wrong', async () => {
    const wrong = 'definitely-not-the-password';
    const child = spawn(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), join(root, 'src/main.ts')], {
      cwd: mkdtempSync(join(tmpdir(), 'wrong-password-')), // no .env there
      env: {
        PATH: process.env.PATH,
        TS_NODE_PROJECT: join(root, 'tsconfig.json'),
        NODE_ENV: 'test',
        PORT: '0',
        MODULES: 'email',
        DATABASE_URL: stack.databaseUrl,
        KAFKA_TOPIC_PREFIX: stack.prefix,
        KAFKA_GROUP_PREFIX: stack.prefix,
        ...broker.env('email', wrong),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', done));
    const code = await within(exited, 80_000, () => `start-up did not stop; its output:\n${output}`).finally(() => child.kill('SIGKILL'));

    expect(code).toBe(1);
    const lines = output.split('\n').filter((l) => /error/i.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('Kafka rejected the credentials of KAFKA_SASL_USERNAME=email (SCRAM-SHA-512)');
    expect(lines[0]).toContain('check KAFKA_SASL_PASSWORD');
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain(wrong);
  }, 90_000);
});
