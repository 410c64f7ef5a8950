import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Consumer } from 'kafkajs';
import { KafkaRegistry } from '../../src/platform/kafka/kafka-registry';
import { expectEventually } from '../support/eventually';
import { placedEnvelope, publish, testKafka } from '../support/kafka';
import { createProduct, orderReaches, placeOrder } from '../support/shop';
import { ADMIN_TOKEN, createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

type LogLine = Record<string, unknown> & { msg?: string; correlationId?: string; eventId?: string; module?: string };

/** Starts the app with its log lines captured as parsed JSON. */
function startObservedApp(stack: TestStack, lines: LogLine[], overrides: Record<string, string>): Promise<TestApp> {
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return startTestApp(stack, overrides, { logStream });
}

/** Parses the Prometheus text format into samples. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(l)!;
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

describe('observability: metrics, logs and API docs while orders flow', () => {
  let stack: TestStack;
  let app: TestApp;
  const lines: LogLine[] = [];

  // The analytics module is left out only to keep this suite lean; every metric is per module.
  const MODULES = 'order,warehouse,email';

  beforeAll(async () => {
    stack = await createTestStack('obs');
    // Pinned retry policy (3 quick retries, no retry topics) so the failure counts below are exact.
    app = await startObservedApp(stack, lines, {
      MODULES,
      LOG_LEVEL: 'info',
      METRICS_SAMPLE_INTERVAL_MS: '300',
      KAFKA_HANDLER_RETRIES: '3',
      KAFKA_RETRY_DELAYS_MS: '',
    });
    await createProduct(app, stack, 'OBS-MUG', 1000);
  });

  afterAll(async () => {
    await app?.close();
    await stack?.drop();
  });

  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    const res = await app.http.get('/metrics').expect(200);
    return samples(res.text)
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  };

  it('serves Prometheus text with Node process metrics', async () => {
    const res = await app.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(res.text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it('counts HTTP requests by route template and status, never by raw URL', async () => {
    const id = randomUUID();
    const before = await metric('http_requests_total', { method: 'GET', route: '/orders/:id', status_code: '404' });
    await app.http.get(`/orders/${id}`).expect(404);
    await app.http.get(`/orders/${id}`).expect(404);
    await app.http.get(`/no-such-route/${id}`).expect(404);

    expect(await metric('http_requests_total', { method: 'GET', route: '/orders/:id', status_code: '404' })).toBe(before + 2);
    expect(await metric('http_request_duration_seconds_count', { route: '/orders/:id' })).toBeGreaterThanOrEqual(2);
    expect(await metric('http_requests_total', { route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
    expect((await app.http.get('/metrics')).text).not.toContain(id);
  });

  it('follows one order by its X-Request-Id through the access log, every module handler and the audit trail', async () => {
    const correlationId = `obs-${randomBytes(6).toString('hex')}`;
    const res = await app.http
      .post('/orders')
      .set('X-Request-Id', correlationId)
      .send({ customerEmail: 'ada@example.com', items: [{ sku: 'OBS-MUG', quantity: 1 }] })
      .expect(201);
    expect(res.headers['x-request-id']).toBe(correlationId);
    const order = await orderReaches(app, res.body.id, 'CONFIRMED');

    expect(order.correlationId).toBe(correlationId);
    // A client that sent none is told the one it got, and finds its order by it.
    const unnamed = await app.http.post('/orders').send({ customerEmail: 'ada@example.com', items: [{ sku: 'OBS-MUG', quantity: 1 }] }).expect(201);
    expect(unnamed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await orderReaches(app, unnamed.body.id, 'CONFIRMED')).correlationId).toBe(unnamed.headers['x-request-id']);
    expect(order.history.map((h: { correlationId: string }) => h.correlationId)).toEqual(order.history.map(() => correlationId));
    await expectEventually(() => {
      const ours = lines.filter((l) => l.correlationId === correlationId);
      expect(ours.find((l) => l.msg === 'request completed')).toMatchObject({ req: { method: 'POST', url: '/orders' }, res: { statusCode: 201 } });
      const handled = ours.filter((l) => /handled/.test(l.msg ?? '')).map((l) => `${l.module}: ${l.msg?.replace(/ in .*/, '')}`);
      expect(handled).toEqual(
        expect.arrayContaining(['warehouse: warehouse handled order.placed', 'email: email handled order.placed', 'order: order handled stock.reserved']),
      );
      for (const line of ours.filter((l) => /handled/.test(l.msg ?? ''))) expect(line.eventId).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  it('keeps the admin token and authorization headers out of every log line, on answers and refusals alike', async () => {
    await app.http.get('/admin/dlq/warehouse').set(app.admin).expect(200);
    await app.http.post('/products').set(app.admin).send({ sku: 'not a sku' }).expect(400);
    await app.http.get('/admin/dlq/no-such-module').set(app.admin).expect(400);
    // The last request's access line is in: every line of the three requests has been written by then.
    await expectEventually(() =>
      expect(lines.filter((l) => (l as { req?: { url?: string } }).req?.url === '/admin/dlq/no-such-module')).toHaveLength(1),
    );
    expect(JSON.stringify(lines)).not.toContain(ADMIN_TOKEN);
  });

  it('counts events produced and consumed by topic and module, handler time and the outbox backlog', async () => {
    await placeOrder(app, [{ sku: 'OBS-MUG', quantity: 1 }]);
    await expectEventually(async () => {
      expect(await metric('kafka_events_produced_total', { module: 'order', topic: 'order.placed' })).toBeGreaterThanOrEqual(2);
      expect(await metric('kafka_events_produced_total', { module: 'warehouse', topic: 'stock.reserved' })).toBeGreaterThanOrEqual(2);
      expect(await metric('kafka_events_consumed_total', { module: 'warehouse', topic: 'order.placed', outcome: 'handled' })).toBeGreaterThanOrEqual(2);
      expect(await metric('kafka_events_consumed_total', { module: 'email', topic: 'order.placed', outcome: 'handled' })).toBeGreaterThanOrEqual(2);
      expect(await metric('kafka_handler_duration_seconds_count', { module: 'order', type: 'stock.reserved' })).toBeGreaterThanOrEqual(2);
      expect(await metric('kafka_event_end_to_end_seconds_count', { module: 'order', type: 'stock.reserved' })).toBeGreaterThanOrEqual(2);
    });
    await expectEventually(async () => {
      const res = await app.http.get('/metrics');
      expect(res.text).toMatch(/^outbox_backlog_events\{module="order"\} 0$/m);
      expect(res.text).toMatch(/^outbox_oldest_event_age_seconds\{module="warehouse"\} 0$/m);
    });
  });

  it('shows lag for the email group while it is paused, and 0 again once it resumes', async () => {
    const group = `${stack.prefix}email`;
    const topic = `${stack.prefix}order.placed`;
    const lag = () => metric('kafka_consumer_lag', { group, topic: 'order.placed' });
    await expectEventually(async () => expect(await lag()).toBe(0));

    const consumer = app.app.get(KafkaRegistry).servers.get('email')!.unwrap<Consumer>();
    consumer.pause([{ topic }]);
    try {
      for (let i = 0; i < 3; i++) await placeOrder(app, [{ sku: 'OBS-MUG', quantity: 1 }]);
      await expectEventually(async () => expect(await lag()).toBe(3));
    } finally {
      consumer.resume([{ topic }]);
    }
    await expectEventually(async () => expect(await lag()).toBe(0));
  });

  it('counts handler errors, in-place retries and the DLQ write of an event whose handler keeps failing', async () => {
    const labels = { module: 'warehouse', type: 'order.placed' };
    const [errors, retries, parked] = await Promise.all([
      metric('kafka_handler_errors_total', labels),
      metric('kafka_handler_retries_total', labels),
      metric('kafka_dlq_writes_total', { module: 'warehouse', topic: 'order.placed', code: 'HANDLER.FAILED' }),
    ]);
    // A broken table makes the warehouse handler fail transiently: 1 attempt + 3 retries, then the DLQ.
    await query(stack.databaseUrl, 'ALTER TABLE warehouse.inbox RENAME TO inbox_away');
    try {
      const orderId = randomUUID();
      const event = placedEnvelope({ orderId, sku: 'OBS-MUG', unitPriceCents: 1000 });
      await publish(testKafka(stack.brokers), `${stack.prefix}order.placed`, [{ key: orderId, value: event }]);
      await expectEventually(async () => {
        expect(await metric('kafka_dlq_writes_total', { module: 'warehouse', topic: 'order.placed', code: 'HANDLER.FAILED' })).toBe(parked + 1);
      });
    } finally {
      await query(stack.databaseUrl, 'ALTER TABLE warehouse.inbox_away RENAME TO inbox');
    }
    expect(await metric('kafka_handler_errors_total', labels)).toBe(errors + 4);
    expect(await metric('kafka_handler_retries_total', labels)).toBe(retries + 3);
    expect(await metric('kafka_events_consumed_total', { module: 'warehouse', topic: 'order.placed', outcome: 'dead_lettered' })).toBeGreaterThanOrEqual(1);
    await expectEventually(async () => expect(await metric('kafka_dlq_messages', { module: 'warehouse' })).toBe(parked + 1));
    // Not redriven yet: pending. A redrive moves the mark past it; the topic keeps the letter.
    await expectEventually(async () => expect(await metric('kafka_dlq_pending_messages', { module: 'warehouse' })).toBe(parked + 1));
    await app.http.post('/admin/dlq/warehouse/redrive').set(app.admin).send({}).expect(200);
    await expectEventually(async () => expect(await metric('kafka_dlq_pending_messages', { module: 'warehouse' })).toBe(0));
    expect(await metric('kafka_dlq_messages', { module: 'warehouse' })).toBe(parked + 1);
  });

  // Swagger UI itself needs @fastify/static, which jest's runtime cannot load (require of ESM); Node serves it.
  it('serves the OpenAPI document generated from the DTOs, and the AsyncAPI document at /docs/events', async () => {
    const openapi = await app.http.get('/docs-json').expect(200);
    expect(openapi.body.paths['/orders'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/PlaceOrderDto' });
    expect(openapi.body.components.schemas.PlaceOrderDto.required).toEqual(expect.arrayContaining(['customerEmail', 'items']));

    const events = await app.http.get('/docs/events').expect(200);
    expect(events.headers['content-type']).toMatch(/^application\/yaml/);
    expect(events.text).toBe(readFileSync(join(__dirname, '../../docs/asyncapi.yaml'), 'utf8'));
  });
});
