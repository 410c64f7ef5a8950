import { randomBytes } from 'node:crypto';
import { Admin } from 'kafkajs';
import { Client } from 'pg';
import { AppBuild, AppProcess, buildApp, freePort, killAppProcesses, startAppProcess } from '../support/app-process';
import { expectEventually } from '../support/eventually';
import { testKafka } from '../support/kafka';
import { SmtpSink, startSmtpSink } from '../support/smtp-sink';
import { createTestStack, TestStack } from '../support/test-app';
import { createTestDatabase, query } from '../support/test-database';

// Every process here is `node main.js` from one build of src/, started with a different MODULES.
let build: AppBuild;

beforeAll(async () => {
  build = await buildApp();
}, 180_000);

afterAll(async () => {
  await killAppProcesses();
  await build?.remove();
});

const ORDER_TOPICS = ['order.placed', 'order.confirmed', 'order.rejected', 'order.cancelled'];

const readinessChecks = async (app: AppProcess) => {
  const res = await app.http.get('/health/ready').expect(200);
  return Object.keys(res.body.details as object).sort();
};

const checksFor = (...modules: string[]) =>
  [...modules.flatMap((m) => [`db:${m}`, `consumer:${m}`, `outbox:${m}`]), 'kafka:producer'].sort();

const schemasOf = async (url: string) =>
  (
    await query<{ name: string }>(
      url,
      `SELECT nspname AS name FROM pg_namespace WHERE nspname IN ('orders', 'warehouse', 'email', 'analytics') ORDER BY 1`,
    )
  ).map((r) => r.name);

async function placeOrder(app: AppProcess, customerEmail: string, items: { sku: string; quantity: number }[]) {
  const res = await app.http.post('/orders').send({ customerEmail, items });
  if (res.status !== 201) throw new Error(`POST /orders answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as { id: string };
}

async function orderReaches(app: AppProcess, id: string, status: string, timeoutMs = 30_000) {
  return expectEventually(async () => {
    const res = await app.http.get(`/orders/${id}`).expect(200);
    expect(res.body.status).toBe(status);
    return res.body as { status: string; history: { status: string }[] };
  }, timeoutMs);
}

/** Committed offsets of `group` have reached the end of every partition of `topics`: it has handled all of it. */
async function groupCaughtUp(admin: Admin, group: string, topics: string[]) {
  await expectEventually(async () => {
    const committed = await admin.fetchOffsets({ groupId: group, topics });
    for (const { topic, partitions } of committed) {
      const ends = await admin.fetchTopicOffsets(topic);
      for (const end of ends) {
        const at = partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
        const position = Number(at) < 0 ? Number(end.low) : Number(at);
        expect(`${topic}[${end.partition}] at ${position}`).toBe(`${topic}[${end.partition}] at ${end.high}`);
      }
    }
  }, 30_000, 200);
}

/** `kafka_events_consumed_total` of one module in one process, summed over topics and outcomes. */
async function eventsConsumed(app: AppProcess, module: string): Promise<number> {
  const res = await app.http.get('/metrics').expect(200);
  return (res.text as string)
    .split('\n')
    .filter((l) => l.startsWith('kafka_events_consumed_total{') && l.includes(`module="${module}"`))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('split layout: MODULES=order,warehouse,analytics and MODULES=email as two processes of one build', () => {
  let stack: TestStack;
  let emailDb: { url: string; drop: () => Promise<void> };
  let analyticsDb: { url: string; drop: () => Promise<void> };
  let sink: SmtpSink;
  let admin: Admin;
  let core: AppProcess;
  let mailer: AppProcess;
  const ports = { core: 0, mailer: 0 };
  const env = () => ({
    // Both processes get the same configuration; each module reads only its own variables.
    EMAIL_DATABASE_URL: emailDb.url,
    ANALYTICS_DATABASE_URL: analyticsDb.url,
    SMTP_FROM: 'Shop <orders@shop.test>',
    SMTP_TIMEOUT_MS: '2000',
    EMAIL_RETRY_BASE_MS: '100',
    EMAIL_RETRY_MAX_MS: '500',
  });
  const startCore = (modules = 'order,warehouse,analytics') =>
    startAppProcess({ name: `core(${modules})`, build, stack, modules, port: ports.core, env: env() });
  // Only the email process can reach the SMTP sink: a mail there was sent by it. It runs as PID 1 of
  // a PID namespace of its own, as in a container without an init (signals nobody listens for are ignored).
  const startMailer = (modules = 'email') =>
    startAppProcess({ name: `mailer(${modules})`, build, stack, modules, port: ports.mailer, env: { ...env(), SMTP_URL: sink.url }, pid1: true });

  const customer = (name: string) => `${name}-${randomBytes(3).toString('hex')}@example.com`;
  // In the order they arrived: after a backlog the confirmation may be consumed first, but it is mailed second.
  const subjects = (address: string) => sink.mailsTo(address).map((m) => m.subject?.split(' (')[0]);
  const PLACED_AND_CONFIRMED = ['We received your order', 'Your order is confirmed'];

  beforeAll(async () => {
    stack = await createTestStack('split');
    [emailDb, analyticsDb] = await Promise.all([createTestDatabase('split_email'), createTestDatabase('split_analytics')]);
    sink = await startSmtpSink();
    admin = testKafka(stack.brokers).admin();
    await admin.connect();
    ports.core = await freePort();
    ports.mailer = await freePort();
    [core, mailer] = await Promise.all([startCore(), startMailer()]);
    await core.http.post('/products').set(core.admin).send({ sku: 'MUG', name: 'Mug', priceCents: 1200, stock: 100_000 }).expect(201);
    await expectEventually(async () => expect(await query(stack.databaseUrl, `SELECT 1 FROM orders.catalogue WHERE sku = 'MUG'`)).toHaveLength(1));
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled([core?.stop(), mailer?.stop()]);
    await admin?.disconnect();
    await sink?.stop();
    await Promise.allSettled([stack?.drop(), emailDb?.drop(), analyticsDb?.drop()]);
  });

  it('ends at once when stopped during its start-up, even as PID 1 of a container without an init', async () => {
    // Held here, the order schema's migration lock keeps a new process waiting in its start-up.
    const holder = new Client({ connectionString: stack.databaseUrl });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('migrate:orders'))`);
      const starting = await startAppProcess({ name: 'starting(order)', build, stack, modules: 'order', env: env(), pid1: true, noWait: true });
      await expectEventually(async () => {
        const waiting = await query(stack.databaseUrl, `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_lock%' AND pid <> $1`, [
          (holder as unknown as { processID: number }).processID,
        ]);
        expect(waiting).toHaveLength(1);
      }, 30_000, 100);
      expect(await starting.stop()).toEqual({ code: 143, signal: null });
    } finally {
      await holder.end();
    }
  });

  it('reports readiness, routes and consumer groups only for the modules each process runs', async () => {
    expect(await readinessChecks(mailer)).toEqual(checksFor('email'));
    expect(await readinessChecks(core)).toEqual(checksFor('order', 'warehouse', 'analytics'));

    await mailer.http.get('/orders').expect(404);
    await mailer.http.get('/analytics/summary').expect(404);
    const anyOrder = '00000000-0000-4000-8000-000000000000';
    await core.http.get('/emails').query({ orderId: anyOrder }).set(core.admin).expect(404);
    await mailer.http.get('/emails').query({ orderId: anyOrder }).set(mailer.admin).expect(200);

    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(stack.prefix));
    expect(ours.sort()).toEqual(['analytics', 'email', 'order', 'warehouse'].map((m) => `${stack.prefix}${m}`));
  });

  it('sends every order mail exactly once and from the email process, whose tables live on its own database', async () => {
    const customers = Array.from({ length: 5 }, (_, i) => customer(`split${i}`));
    const orders = await Promise.all(customers.map((c) => placeOrder(core, c, [{ sku: 'MUG', quantity: 1 }])));
    await Promise.all(orders.map((o) => orderReaches(core, o.id, 'CONFIRMED')));

    await expectEventually(() => {
      for (const c of customers) expect(subjects(c)).toEqual(PLACED_AND_CONFIRMED);
    }, 30_000);
    // Nothing more can arrive once the email group has committed past every order event.
    await groupCaughtUp(admin, `${stack.prefix}email`, ORDER_TOPICS.map((t) => stack.prefix + t));
    for (const c of customers) expect(subjects(c)).toEqual(PLACED_AND_CONFIRMED);

    expect(await eventsConsumed(mailer, 'email')).toBeGreaterThanOrEqual(10);
    expect(await eventsConsumed(core, 'email')).toBe(0);

    // The row is marked SENT just after the sink accepted the mail.
    await expectEventually(async () => {
      const rows = await query<{ status: string }>(
        emailDb.url,
        `SELECT status FROM email.sent_mails WHERE order_id = ANY($1::uuid[])`,
        [orders.map((o) => o.id)],
      );
      expect(rows.map((r) => r.status)).toEqual(Array(10).fill('SENT'));
    });
    // Each module's schema exists only on the database it was pointed at (EMAIL_/ANALYTICS_DATABASE_URL, else DATABASE_URL).
    expect(await schemasOf(stack.databaseUrl)).toEqual(['orders', 'warehouse']);
    expect(await schemasOf(emailDb.url)).toEqual(['email']);
    expect(await schemasOf(analyticsDb.url)).toEqual(['analytics']);
    const summary = await core.http.get('/analytics/summary').expect(200);
    expect(summary.body.orders.placed).toBeGreaterThanOrEqual(5);
  });

  it('delivers the mails of orders placed while the email process was stopped once it starts again, from where its group left off', async () => {
    const group = `${stack.prefix}email`;
    await groupCaughtUp(admin, group, ORDER_TOPICS.map((t) => stack.prefix + t));
    // Closed, then ended by the signal Nest raises again after the close: 128 + 15, even as PID 1.
    expect(await mailer.stop()).toEqual({ code: 143, signal: null });

    const customers = Array.from({ length: 3 }, (_, i) => customer(`offline${i}`));
    const orders = await Promise.all(customers.map((c) => placeOrder(core, c, [{ sku: 'MUG', quantity: 1 }])));
    await Promise.all(orders.map((o) => orderReaches(core, o.id, 'CONFIRMED')));
    // The email module runs nowhere now: the orders go through, their mails wait in Kafka.
    for (const c of customers) expect(sink.mailsTo(c)).toHaveLength(0);
    const { groups } = await admin.describeGroups([group]);
    expect(groups[0].members).toHaveLength(0);

    mailer = await startMailer();
    await expectEventually(() => {
      for (const c of customers) expect(subjects(c)).toEqual(PLACED_AND_CONFIRMED);
    }, 30_000);
    await groupCaughtUp(admin, group, ORDER_TOPICS.map((t) => stack.prefix + t));
    for (const c of customers) expect(subjects(c)).toEqual(PLACED_AND_CONFIRMED);
    // The new process read only the 6 events it had missed (placed + confirmed for 3 orders):
    // it resumed from the group's committed offsets, not from the beginning of the topics.
    expect(await eventsConsumed(mailer, 'email')).toBe(6);
  });

  it('moves the warehouse module from one process to the other while orders flow, and loses or doubles nothing', async () => {
    // The summary below counts from here: analytics must have seen the orders of the tests before.
    await groupCaughtUp(admin, `${stack.prefix}analytics`, ORDER_TOPICS.map((t) => stack.prefix + t));
    const before = {
      reserved: (await core.http.get('/products/MUG').expect(200)).body.reserved as number,
      placed: (await core.http.get('/analytics/summary').expect(200)).body.orders.placed as number,
    };
    const tag = randomBytes(3).toString('hex');
    const placed: { key: string; email: string; id: string }[] = [];
    let flowing = true;
    let failure: unknown;

    // One client placing orders in a row against the order module's address, retrying with the same
    // Idempotency-Key while that process restarts (as a real client or load balancer would).
    const flow = (async () => {
      for (let i = 0; flowing; i++) {
        const key = `move-${tag}-${i}`;
        const email = `${key}@example.com`;
        const deadline = Date.now() + 60_000;
        for (;;) {
          const res = await core.http
            .post('/orders')
            .set('Idempotency-Key', key)
            .send({ customerEmail: email, items: [{ sku: 'MUG', quantity: 1 }] })
            .timeout(5000)
            .catch(() => undefined);
          if (res?.status === 201) {
            placed.push({ key, email, id: res.body.id as string });
            break;
          }
          if (Date.now() > deadline) throw new Error(`order ${key} could not be placed for 60 s (last answer ${res?.status ?? 'none'})`);
          await new Promise((r) => setTimeout(r, 100)); // retry pacing while the process restarts
        }
        await new Promise((r) => setTimeout(r, 50)); // about 15 orders a second: bounded load
      }
    })().catch((e: unknown) => (failure = e));
    const flowed = (n: number) => expectEventually(() => expect(placed.length).toBeGreaterThanOrEqual(n), 60_000, 50);

    try {
      await flowed(10);
      // 1. Start the warehouse in its new process: both now share the warehouse group's partitions.
      await mailer.stop();
      mailer = await startMailer('email,warehouse');
      await flowed(placed.length + 10);
      // 2. Remove it from the old one.
      await core.stop();
      core = await startCore('order,analytics');
      await flowed(placed.length + 10);
    } finally {
      flowing = false;
      await flow;
    }
    expect(failure).toBeUndefined();

    expect(await readinessChecks(core)).toEqual(checksFor('order', 'analytics'));
    expect(await readinessChecks(mailer)).toEqual(checksFor('email', 'warehouse'));
    const n = placed.length;
    const ids = placed.map((p) => p.id);
    expect(new Set(ids).size).toBe(n);

    // Every order placed exactly once, reserved exactly once, confirmed exactly once.
    await expectEventually(async () => {
      const rows = await query<{ status: string; n: number }>(
        stack.databaseUrl,
        `SELECT status, count(*)::int AS n FROM orders.orders WHERE customer_email LIKE $1 GROUP BY status`,
        [`move-${tag}-%`],
      );
      expect(rows).toEqual([{ status: 'CONFIRMED', n }]);
    }, 60_000, 250);
    const history = await query<{ status: string; n: number }>(
      stack.databaseUrl,
      `SELECT status, count(*)::int AS n FROM orders.order_status_history WHERE order_id = ANY($1::uuid[]) GROUP BY status ORDER BY status`,
      [ids],
    );
    expect(history).toEqual([
      { status: 'CONFIRMED', n },
      { status: 'PENDING', n },
    ]);
    const reservations = await query<{ status: string; n: number }>(
      stack.databaseUrl,
      `SELECT status, count(*)::int AS n FROM warehouse.reservations WHERE order_id = ANY($1::uuid[]) GROUP BY status`,
      [ids],
    );
    expect(reservations).toEqual([{ status: 'RESERVED', n }]);
    expect((await mailer.http.get('/products/MUG').expect(200)).body.reserved).toBe(before.reserved + n);

    // Analytics and email (both restarted on the way) saw each order once too.
    await expectEventually(async () => {
      const summary = (await core.http.get('/analytics/summary').expect(200)).body;
      expect(summary.orders.placed).toBe(before.placed + n);
    }, 30_000);
    await expectEventually(() => {
      for (const p of placed) expect(subjects(p.email)).toEqual(PLACED_AND_CONFIRMED);
    }, 60_000);
    await groupCaughtUp(admin, `${stack.prefix}email`, ORDER_TOPICS.map((t) => stack.prefix + t));
    for (const p of placed) expect(subjects(p.email)).toEqual(PLACED_AND_CONFIRMED);
  }, 300_000); // two restarts and the flow between them: more than the default 120 s on a slow box
});

describe('one scenario, two layouts: the monolith and one process per module', () => {
  interface FinalState {
    orders: Record<string, { status: string; totalCents: number; rejectionReason: string | null; history: string[] }>;
    stock: Record<string, { available: number; reserved: number }>;
    analytics: Record<string, unknown>;
  }

  /** Products, orders, a cancel and an out-of-stock, one step after the other, on a fresh stack; returns where it ends. */
  async function runScenario(layout: string[]): Promise<FinalState> {
    const stack = await createTestStack('same');
    try {
      const apps = await Promise.all(layout.map((modules) => startAppProcess({ name: modules, build, stack, modules })));
      const running = (module: string) => apps.find((a) => a.modules.includes(module))!;
      const [orders, warehouse, analytics] = [running('order'), running('warehouse'), running('analytics')];
      try {
        for (const p of [
          { sku: 'LAMP', name: 'Lamp', priceCents: 4500, stock: 5 },
          { sku: 'RUG', name: 'Rug', priceCents: 12_000, stock: 2 },
        ]) {
          await warehouse.http.post('/products').set(warehouse.admin).send(p).expect(201);
        }
        await expectEventually(async () => expect(await query(stack.databaseUrl, 'SELECT sku FROM orders.catalogue')).toHaveLength(2));

        const steps: { customer: string; items: { sku: string; quantity: number }[]; cancel?: true }[] = [
          { customer: 'ada@example.com', items: [{ sku: 'LAMP', quantity: 2 }] },
          { customer: 'bob@example.com', items: [{ sku: 'RUG', quantity: 1 }] },
          { customer: 'cy@example.com', items: [{ sku: 'LAMP', quantity: 1 }, { sku: 'RUG', quantity: 1 }] },
          { customer: 'dee@example.com', items: [{ sku: 'RUG', quantity: 1 }] }, // no RUG left
          { customer: 'eve@example.com', items: [{ sku: 'LAMP', quantity: 1 }], cancel: true },
          { customer: 'fay@example.com', items: [{ sku: 'LAMP', quantity: 9 }] }, // more than there is
        ];
        const ids: Record<string, string> = {};
        for (const step of steps) {
          const { id } = await placeOrder(orders, step.customer, step.items);
          ids[step.customer] = id;
          await expectEventually(async () => expect((await orders.http.get(`/orders/${id}`).expect(200)).body.status).not.toBe('PENDING'));
          if (step.cancel) await orders.http.post(`/orders/${id}/cancel`).expect(200);
        }

        const state: FinalState = { orders: {}, stock: {}, analytics: {} };
        for (const [customer, id] of Object.entries(ids)) {
          const o = (await orders.http.get(`/orders/${id}`).expect(200)).body;
          state.orders[customer] = {
            status: o.status,
            totalCents: o.totalCents,
            rejectionReason: o.rejectionReason,
            history: (o.history as { status: string }[]).map((h) => h.status),
          };
        }
        // Settled: every module agrees with the order module (the cancel released its stock, analytics counted every status).
        const tally: Record<string, number> = {};
        for (const o of Object.values(state.orders)) tally[o.status] = (tally[o.status] ?? 0) + 1;
        await expectEventually(async () => {
          const summary = (await analytics.http.get('/analytics/summary').expect(200)).body;
          expect(Object.fromEntries(Object.entries(summary.orders.byStatus as Record<string, number>).filter(([, n]) => n > 0))).toEqual(tally);
          expect(summary.stock.released).toBe(tally.CANCELLED ?? 0);
          const { items } = (await warehouse.http.get('/products').expect(200)).body as { items: { sku: string; available: number; reserved: number }[] };
          state.stock = Object.fromEntries(items.map((p) => [p.sku, { available: p.available, reserved: p.reserved }]));
          const keep = ['orders', 'revenue', 'averageOrderValueCents', 'rejectionReasons', 'stock', 'topProducts'];
          state.analytics = Object.fromEntries(keep.map((k) => [k, summary[k]]));
        }, 30_000, 200);
        return state;
      } finally {
        await Promise.all(apps.map((a) => a.stop()));
      }
    } finally {
      await stack.drop();
    }
  }

  it('ends with the same orders, stock and analytics summary in both layouts', async () => {
    const monolith = await runScenario(['order,warehouse,email,analytics']);
    const split = await runScenario(['order', 'warehouse', 'email', 'analytics']);

    // The scenario did what it says (two equal but wrong states must not pass).
    expect(Object.fromEntries(Object.entries(monolith.orders).map(([c, o]) => [c, o.status]))).toEqual({
      'ada@example.com': 'CONFIRMED',
      'bob@example.com': 'CONFIRMED',
      'cy@example.com': 'CONFIRMED',
      'dee@example.com': 'REJECTED',
      'eve@example.com': 'CANCELLED',
      'fay@example.com': 'REJECTED',
    });
    expect(monolith.stock).toEqual({ LAMP: { available: 2, reserved: 3 }, RUG: { available: 0, reserved: 2 } });

    expect(split).toEqual(monolith);
  }, 240_000);
});
