import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { MailDeliveryService } from '../../src/modules/email/deliver-mail/mail-delivery.service';
import { expectEventually } from '../support/eventually';
import { PgProxy, startPgProxy } from '../support/pg-proxy';
import { createProduct, placeOrder } from '../support/shop';
import { SmtpSink, startSmtpSink } from '../support/smtp-sink';
import { collectLogLines, createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

/**
 * Its own file: the test reads the app's log, and nestjs-pino keeps its root logger in a static
 * field: as a second app in the email suite's file, its lines never reached its own log stream.
 */
describe('email module: stopping while a mail the server accepted waits to be recorded', () => {
  let stack: TestStack;
  let sink: SmtpSink;
  let proxy: PgProxy;
  let app: TestApp | undefined;
  const logs: string[] = [];

  beforeAll(async () => {
    stack = await createTestStack('emailstop');
    sink = await startSmtpSink();
    // The email module reaches Postgres through a TCP proxy that can play a database gone away.
    proxy = await startPgProxy(stack.databaseUrl);
    app = await startTestApp(stack, {
      SMTP_URL: sink.url,
      SMTP_FROM: 'Shop <orders@shop.test>',
      EMAIL_DATABASE_URL: proxy.url,
      EMAIL_DELIVERY_POLL_MS: '600000',
    }, { logStream: collectLogLines(logs) });
    await createProduct(app, stack, 'MUG', 10, 1200);
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await sink?.stop();
    await stack?.drop();
  });

  it('records a failed attempt the database could not take once it is back, and retries the mail then, not after its 20-minute lease', async () => {
    const email = `blip-${randomBytes(3).toString('hex')}@example.com`;
    // The database goes away while the server refuses the first attempt for now.
    sink.answer((to, attempt) => {
      if (to !== email || attempt > 1) return 'accept';
      proxy.goDown();
      return { code: 451, message: '4.3.0 try later' };
    });
    const order = await placeOrder(app!, [{ sku: 'MUG', quantity: 1 }], email);
    await expectEventually(() => expect(logs.some((l) => l.includes('mail delivery paused'))).toBe(true), 20_000, 100);
    proxy.comeBack();
    await expectEventually(async () => {
      const rows = await query<{ kind: string; status: string; attempts: number }>(
        stack.databaseUrl,
        `SELECT kind, status, attempts FROM email.sent_mails WHERE order_id = $1 ORDER BY seq`,
        [order.id],
      );
      expect(rows.map((r) => [r.kind, r.status, r.attempts])).toEqual([
        ['ORDER_PLACED', 'SENT', 2],
        ['ORDER_CONFIRMED', 'SENT', 1],
      ]);
    }, 30_000);
    sink.answer(() => 'accept');
    logs.length = 0; // the next test reads the pauses of its own outage
  });

  it('records it as SENT on the way down, so it is not sent a second time when its lease runs out', async () => {
    const email = `stop-${randomBytes(3).toString('hex')}@example.com`;
    sink.hold(3000); // the server keeps DATA 3 s: the database goes away meanwhile (a stalled loop must not miss the window)
    const order = await placeOrder(app!, [{ sku: 'MUG', quantity: 1 }], email);
    await expectEventually(() => expect(sink.attempts.get(email)).toBe(1));
    proxy.goDown();
    // Accepted, but the SENT record fails; the delivery loop waits longer after each failure, and
    // stops in the middle of its 4 s wait.
    await expectEventually(() => expect(logs.some((l) => l.includes('mail delivery paused 4000 ms'))).toBe(true), 20_000, 100);
    expect(sink.mailsTo(email)).toHaveLength(1);
    proxy.comeBack();
    await app!.close();
    app = undefined;
    const [placed] = await query<{ status: string; attempts: number }>(
      stack.databaseUrl,
      `SELECT status, attempts FROM email.sent_mails WHERE order_id = $1 AND kind = 'ORDER_PLACED'`,
      [order.id],
    );
    expect({ status: placed.status, attempts: placed.attempts }).toEqual({ status: 'SENT', attempts: 1 });
  });
});

describe('email module: stopping while the SMTP server sits on a mail', () => {
  let stack: TestStack;
  let sink: SmtpSink;
  let app: TestApp | undefined;

  beforeAll(async () => {
    stack = await createTestStack('emailslow');
    sink = await startSmtpSink();
    app = await startTestApp(stack, {
      SMTP_URL: sink.url,
      SMTP_FROM: 'Shop <orders@shop.test>',
      // The delivery loop waits a fifth of it for attempts in flight: 2 s.
      SHUTDOWN_TIMEOUT_MS: '10000',
      EMAIL_DELIVERY_POLL_MS: '600000',
    });
    await createProduct(app, stack, 'MUG', 10, 1200);
  });

  afterAll(async () => {
    await app?.close();
    await sink?.stop();
    await stack?.drop();
  });

  it('stops waiting for the attempt after a fifth of SHUTDOWN_TIMEOUT_MS, so HTTP, consumers and outboxes still close in time', async () => {
    const email = `slow-${randomBytes(3).toString('hex')}@example.com`;
    sink.hold((to) => (to === email ? 30_000 : 0)); // the server sits on the mail's DATA for 30 s
    const order = await placeOrder(app!, [{ sku: 'MUG', quantity: 1 }], email);
    await expectEventually(() => expect(sink.maxInFlight.byRecipient.get(email)).toBe(1));
    const started = Date.now();
    await app!.close();
    app = undefined;
    // 2 s for the mail, then the rest of the shutdown; waiting for the server would take the 30 s.
    expect(Date.now() - started).toBeLessThan(15_000);
    // Still owed: it goes again, with the same Message-ID, once its lease runs out.
    const [placed] = await query<{ status: string }>(stack.databaseUrl, `SELECT status FROM email.sent_mails WHERE order_id = $1 AND kind = 'ORDER_PLACED'`, [order.id]);
    expect(placed.status).toBe('SENDING');
  });
});

describe('email module: stopping while a claim of mails is in flight', () => {
  let stack: TestStack;
  let sink: SmtpSink;
  let app: TestApp | undefined;
  let holder: Client | undefined;

  beforeAll(async () => {
    stack = await createTestStack('emailclaim');
    sink = await startSmtpSink();
    app = await startTestApp(stack, { SMTP_URL: sink.url, SMTP_FROM: 'Shop <orders@shop.test>', EMAIL_DELIVERY_POLL_MS: '600000' });
    await createProduct(app, stack, 'MUG', 10, 1200);
  });

  afterAll(async () => {
    await holder?.end().catch(() => undefined);
    await app?.close();
    await sink?.stop();
    await stack?.drop();
  });

  it('hands the mails it claimed back to the queue instead of sending them once shutdown has begun', async () => {
    // A claim marks its mails SENDING; this trigger makes it wait for an advisory lock the test holds.
    holder = new Client({ connectionString: stack.databaseUrl });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock(4242)');
    await query(stack.databaseUrl, `CREATE FUNCTION email.wait_for_test() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NEW; END $$`);
    await query(stack.databaseUrl, `CREATE TRIGGER wait_for_test BEFORE UPDATE ON email.sent_mails FOR EACH ROW WHEN (NEW.status = 'SENDING') EXECUTE FUNCTION email.wait_for_test()`);
    const email = `claim-${randomBytes(3).toString('hex')}@example.com`;
    const order = await placeOrder(app!, [{ sku: 'MUG', quantity: 1 }], email);
    await expectEventually(async () => {
      const waiting = await query(stack.databaseUrl, `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted`);
      expect(waiting).toHaveLength(1);
    });

    const delivery = app!.app.get(MailDeliveryService);
    const stop = delivery.beforeApplicationShutdown.bind(delivery);
    let shutdownBegan = false;
    delivery.beforeApplicationShutdown = () => ((shutdownBegan = true), stop());
    const closing = app!.close();
    app = undefined;
    await expectEventually(() => expect(shutdownBegan).toBe(true));
    await holder.query('SELECT pg_advisory_unlock(4242)');
    await closing;

    const [placed] = await query<{ status: string; attempts: number }>(
      stack.databaseUrl,
      `SELECT status, attempts FROM email.sent_mails WHERE order_id = $1 AND kind = 'ORDER_PLACED'`,
      [order.id],
    );
    expect(placed).toEqual({ status: 'QUEUED', attempts: 0 });
    expect(sink.attempts.get(email)).toBeUndefined();
  });
});
