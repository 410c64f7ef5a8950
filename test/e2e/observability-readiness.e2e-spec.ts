/* eslint-disable @typescript-eslint/no-require-imports */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expectEventually } from '../support/eventually';
import { createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';

const { answers, ensureKafka, stopKafka } = require('../../scripts/infra') as {
  answers: (host: string, port: number) => Promise<boolean>;
  ensureKafka: (brokers: string, options: { fresh: boolean }) => Promise<{ started: boolean }>;
  stopKafka: (port: number) => void;
};

/** A port whose listener and controller port (port + 1) are both free; never the shared brokers'. */
async function freeBrokerPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + 2 * Math.floor(Math.random() * 4_000);
    if (port === 19_092 || port === 9_092) continue;
    if (!(await answers('127.0.0.1', port)) && !(await answers('127.0.0.1', port + 1))) return port;
  }
}

// Stops and restarts a broker of its own (the shared one keeps serving other suites).
describe('readiness follows the Kafka broker', () => {
  let port: number;
  let brokers: string;
  let stack: TestStack;
  let app: TestApp;
  const heap = process.env.KAFKA_HEAP;

  beforeAll(async () => {
    process.env.KAFKA_HEAP = '256m';
    port = await freeBrokerPort();
    brokers = `127.0.0.1:${port}`;
    await ensureKafka(brokers, { fresh: true });
    stack = { ...(await createTestStack('ready')), brokers };
    app = await startTestApp(stack, { MODULES: 'order,email' });
  });

  afterAll(async () => {
    await app?.close();
    if (port) {
      stopKafka(port);
      rmSync(join(__dirname, '../../.cache/kafka', `node-${port}`), { recursive: true, force: true });
    }
    await stack?.drop();
    if (heap === undefined) delete process.env.KAFKA_HEAP;
    else process.env.KAFKA_HEAP = heap;
  });

  it('is ready with every part named while the broker answers', async () => {
    const res = await app.http.get('/health/ready').expect(200);
    expect(Object.keys(res.body.info).sort()).toEqual(
      ['consumer:email', 'consumer:order', 'db:email', 'db:order', 'kafka:producer', 'outbox:email', 'outbox:order'].sort(),
    );
    expect(res.body.info['consumer:email']).toMatchObject({ status: 'up', state: 'joined', group: `${stack.prefix}email` });
  });

  it('answers 503 naming the Kafka producer when the broker stops, stays live, and is ready again once the broker is back', async () => {
    stopKafka(port);

    const down = await expectEventually(async () => {
      const res = await app.http.get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body.error['kafka:producer']).toMatchObject({ status: 'down', message: expect.any(String) });
      return res.body;
    }, 30_000, 250);
    expect(down.info['db:order']).toMatchObject({ status: 'up' });
    await app.http.get('/health/live').expect(200);
    // HTTP can still take orders (they wait in the outbox): the probe to route traffic by stays up, naming only the databases.
    const serving = await app.http.get('/health/serving').expect(200);
    expect(Object.keys(serving.body.info).sort()).toEqual(['db:email', 'db:order']);

    await ensureKafka(brokers, { fresh: false });
    await expectEventually(async () => {
      const res = await app.http.get('/health/ready');
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 200, error: {} });
    }, 90_000, 500);
  }, 300_000); // a broker stop and start (up to 30 s and 90 s) and the waits above: past the default 120 s on a slow box
});
