import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Admin, Kafka, Partitioners } from 'kafkajs';
import { ParsedMail } from 'mailparser';
import { expectEventually } from '../support/eventually';
import { envelopeOf, placedEnvelope, publish, readTopics, testKafka, topicSize } from '../support/kafka';
import { createProduct, orderReaches, placeOrder } from '../support/shop';
import { SinkVerdict, SmtpSink, startSmtpSink } from '../support/smtp-sink';
import { claimStatement, MailDeliveryService } from '../../src/modules/email/deliver-mail/mail-delivery.service';
import { insertMails, MailRow } from '../../src/modules/email/on-order-event/queue-order-mail.service';
import { MailKind } from '../../src/modules/email/sent-mail';
import { OrderCancelled, OrderConfirmed } from '../../src/contracts';
import { collectLogLines, createTestStack, startTestApp, TestApp, TestStack } from '../support/test-app';
import { query } from '../support/test-database';

interface SentMailRow {
  event_id: string;
  message_id: string;
  kind: string;
  status: string;
  attempts: number;
  error: string | null;
}

describe('email module: one mail per order event over SMTP', () => {
  let stack: TestStack;
  let app: TestApp;
  let sink: SmtpSink;
  let kafka: Kafka;
  let admin: Admin;
  const logs: string[] = [];

  beforeAll(async () => {
    stack = await createTestStack('email');
    sink = await startSmtpSink();
    kafka = testKafka(stack.brokers);
    admin = kafka.admin();
    await admin.connect();
    app = await startTestApp(stack, {
      SMTP_URL: sink.url,
      SMTP_FROM: 'Shop <orders@shop.test>',
      SMTP_TIMEOUT_MS: '2000',
      // Every line, debug included, for the checks that no customer address reaches the log.
      LOG_LEVEL: 'debug',
      EMAIL_RETRY_BASE_MS: '100',
      EMAIL_RETRY_MAX_MS: '500',
      // Ten minutes: every mail of this suite goes out because something woke delivery, never by the poll.
      EMAIL_DELIVERY_POLL_MS: '600000',
    }, { logStream: collectLogLines(logs) });
    await createProduct(app, stack, 'MUG', 1000, 1200);
  });

  afterEach(() => {
    sink.answer(() => 'accept');
    sink.answerSender(() => 'accept');
    sink.answerConnect(() => 'accept');
    sink.hold(0);
  });

  afterAll(async () => {
    await admin?.disconnect();
    await app?.close();
    await sink?.stop();
    await stack?.drop();
  });

  const customer = (name: string) => `${name}-${randomBytes(3).toString('hex')}@example.com`;
  const subjectsOf = (mails: ParsedMail[]) => mails.map((m) => m.subject);
  const mailRows = (orderId: string) =>
    query<SentMailRow>(
      stack.databaseUrl,
      `SELECT event_id, message_id, kind, status, attempts, error FROM email.sent_mails WHERE order_id = $1 ORDER BY seq`,
      [orderId],
    );
  /** Publishes one event and waits until the email group has committed past it: its handler has seen it. */
  const handledByEmail = async (topic: string, message: { key: string; value: object }) => {
    const [written] = await publish(kafka, topic, [message]);
    await expectEventually(async () => {
      const [offsets] = await admin.fetchOffsets({ groupId: `${stack.prefix}email`, topics: [topic] });
      const committed = offsets.partitions.find((p) => p.partition === written.partition)!;
      expect(BigInt(committed.offset)).toBeGreaterThan(BigInt(written.baseOffset!));
    });
  };
  /** The order's two mails once both are `status` (bounded), in the order they were queued. */
  const mailsReach = (orderId: string, status: 'SENT' | 'FAILED') =>
    expectEventually(async () => {
      const r = await mailRows(orderId);
      expect(r.map((m) => [m.kind, m.status])).toEqual([
        ['ORDER_PLACED', status],
        ['ORDER_CONFIRMED', status],
      ]);
      return r;
    });

  it('mails the customer on order.placed and order.confirmed, to the right address, with the subject and the total', async () => {
    const email = customer('ada');
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 2 }], email);

    const mails = await expectEventually(() => {
      expect(subjectsOf(sink.mailsTo(email))).toEqual([
        `We received your order (order ${order.id.slice(-8)})`,
        `Your order is confirmed (order ${order.id.slice(-8)})`,
      ]);
      return sink.mailsTo(email);
    });
    const confirmed = mails[1];
    expect(confirmed.from?.value[0].address).toBe('orders@shop.test');
    expect(confirmed.text).toContain(`Order: ${order.id}`);
    expect(confirmed.text).toContain('2 x MUG at 12.00 = 24.00');
    expect(confirmed.text).toContain('Total: 24.00');
    expect(confirmed.html).toContain('24.00');

    const rows = await mailsReach(order.id, 'SENT');
    // The Message-ID is the event's: the same on any resend, so a receiver can drop a duplicate.
    expect(confirmed.messageId).toBe(`<${rows[1].event_id}@shop.test>`);
    expect(rows[1].message_id).toBe(confirmed.messageId);
  });

  it('sends the mails of several orders at once to a slow server, never two of one order at once, each order in order', async () => {
    sink.hold(300);
    const emails = ['ann', 'bob', 'cyd', 'dee'].map(customer);
    const orders = await Promise.all(emails.map((email) => placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email)));
    await expectEventually(() => {
      for (const [i, email] of emails.entries()) {
        const id = orders[i].id.slice(-8);
        expect(subjectsOf(sink.mailsTo(email))).toEqual([`We received your order (order ${id})`, `Your order is confirmed (order ${id})`]);
      }
    }, 20_000);
    expect(sink.maxInFlight.all).toBeGreaterThan(1); // one at a time would take 8 x 300 ms
    for (const email of emails) expect(sink.maxInFlight.byRecipient.get(email)).toBe(1);
  });

  it('sends a mail queued behind another of its order once that one is recorded, with no wake left for it', async () => {
    sink.hold(1500);
    const [first, second] = [customer('eve'), customer('fay')];
    const one = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], first);
    // The first order's confirmation goes to the server once its first mail is accepted, and is held there.
    await expectEventually(() => expect(sink.mailsTo(first)).toHaveLength(1), 20_000);
    // Both mails of the second order are queued meanwhile: their wakes are spent on the claim that takes
    // its first mail; the second is blocked behind it, and only that claim's answer says so.
    const two = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], second);
    // ~7 s here; 20 s was once too short on a busy box. A wake lost would wait out the 60 s hold or
    // the 10-minute poll: still caught under 40 s.
    await expectEventually(() => {
      expect(subjectsOf(sink.mailsTo(first))).toEqual([`We received your order (order ${one.id.slice(-8)})`, `Your order is confirmed (order ${one.id.slice(-8)})`]);
      expect(subjectsOf(sink.mailsTo(second))).toEqual([`We received your order (order ${two.id.slice(-8)})`, `Your order is confirmed (order ${two.id.slice(-8)})`]);
    }, 40_000);
  });

  it("claims by probing each candidate's own order, whatever the statistics say (a burst the planner has not seen)", async () => {
    interface PlanNode {
      'Node Type': string;
      'Index Name'?: string;
      'Parent Relationship'?: string;
      'Rows Removed by Filter'?: number;
      'Subplan Name'?: string;
      Plans?: PlanNode[];
    }
    const flatten = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(flatten)];
    // Statistics taken while the queue is nearly empty, then a burst of owed mails (due in a day, so delivery leaves
    // them be), and of confirmations held for their placed mails (a backlog; held a day).
    await query(stack.databaseUrl, 'ANALYZE email.sent_mails');
    await query(
      stack.databaseUrl,
      `INSERT INTO email.sent_mails (event_id, message_id, order_id, kind, recipient, subject, text_body, html_body, correlation_id, status, next_attempt_at, held_until)
       SELECT gen_random_uuid(), 'burst-' || g, gen_random_uuid(), CASE WHEN g % 2 = 0 THEN 'ORDER_PLACED' ELSE 'ORDER_CONFIRMED' END,
              'burst@example.com', 's', 't', 'h', 'c', 'QUEUED', now() + interval '1 day', CASE WHEN g % 2 = 1 THEN now() + interval '1 day' END
       FROM generate_series(1, 40000) g`,
    );
    const client = new Client({ connectionString: stack.databaseUrl });
    await client.connect();
    try {
      // Run, as the loop runs it after a commit that queued two orders' mails, and rolled back: it may claim the suite's own mails.
      await client.query('BEGIN');
      const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${claimStatement('email')}`, [60_000, 8, [randomUUID(), randomUUID()]]);
      const nodes = flatten(rows[0]['QUERY PLAN'][0].Plan);
      // Releasing holds reads no held mail only to drop it (down the index of holds, filtered by order: 20,000 a claim)…
      const releases = nodes.filter((n) => ['CTE expired', 'CTE placed'].includes(n['Subplan Name'] ?? '')).flatMap(flatten);
      expect(Math.max(...releases.map((n) => n['Rows Removed by Filter'] ?? 0))).toBeLessThan(100);
      // …and probes each queued order's own mails.
      expect(releases.map((n) => n['Index Name'])).toContain('sent_mails_order_idx');
      // Nothing reads the whole table, which keeps every mail ever sent (releasing holds by a join did, every claim).
      expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
      // Not every owed mail read and kept for each candidate (the plan that made a burst's mails crawl)…
      expect(nodes.map((n) => n['Node Type'])).not.toContain('Materialize');
      expect(nodes.map((n) => n['Node Type'])).not.toContain('Hash Anti Join');
      // …but a probe of the candidate's own order, by (order_id, seq).
      const probes = nodes.filter((n) => n['Parent Relationship'] === 'SubPlan').flatMap(flatten);
      expect(probes.map((n) => n['Index Name'])).toContain('sent_mails_order_idx');
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
      await query(stack.databaseUrl, `DELETE FROM email.sent_mails WHERE message_id LIKE 'burst-%'`);
    }
  });

  it('sends "We received your order" before "Your order is confirmed" when the confirmation is consumed first (a backlog: the two topics are read side by side)', async () => {
    const email = customer('backlog');
    const placed = placedEnvelope({ customerEmail: email, unitPriceCents: 1200 });
    const confirmed = envelopeOf(OrderConfirmed, { ...placed.payload, confirmedAt: new Date().toISOString() });
    await publish(kafka, `${stack.prefix}order.confirmed`, [{ key: placed.key, value: confirmed }]);
    // The confirmation's mail is queued, and held: its order has no placed mail yet.
    await expectEventually(async () => expect((await mailRows(placed.payload.orderId)).map((m) => [m.kind, m.status])).toEqual([['ORDER_CONFIRMED', 'QUEUED']]));
    await publish(kafka, `${stack.prefix}order.placed`, [{ key: placed.key, value: placed }]);
    const id = placed.payload.orderId.slice(-8);
    await expectEventually(() =>
      expect(subjectsOf(sink.mailsTo(email))).toEqual([`We received your order (order ${id})`, `Your order is confirmed (order ${id})`]),
    );
  });

  it('holds a later mail whose order has no placed mail, out of the claim, until its placed mail is queued or AWAIT_PLACED_MAIL_MS ran out', async () => {
    const client = new Client({ connectionString: stack.databaseUrl });
    await client.connect();
    try {
      // In a transaction rolled back at the end: the suite's own delivery loop never sees these rows.
      await client.query('BEGIN');
      const mail = (orderId: string, kind: MailKind): MailRow => {
        const eventId = randomUUID();
        return [eventId, `<${eventId}@shop.test>`, orderId, kind, 'await@example.com', 's', 't', 'h', 'c'];
      };
      const pg = { query: (sql: string, params: unknown[]) => client.query(sql, params) };
      const [waited, fresh, together]: string[] = [randomUUID(), randomUUID(), randomUUID()];
      await insertMails(pg, [mail(waited, 'ORDER_CONFIRMED'), mail(fresh, 'ORDER_CONFIRMED')]);
      // Queued with its placed mail in one statement: nothing to wait for.
      await insertMails(pg, [mail(together, 'ORDER_CONFIRMED'), mail(together, 'ORDER_PLACED')]);
      const held = async () =>
        (await client.query<{ order_id: string; kind: string; held: boolean }>(
          `SELECT order_id, kind, held_until IS NOT NULL AS held FROM email.sent_mails WHERE order_id = ANY($1) ORDER BY seq`,
          [[waited, fresh, together]],
        )).rows.map((r) => [r.order_id, r.kind, r.held]);
      expect(await held()).toEqual([
        [waited, 'ORDER_CONFIRMED', true],
        [fresh, 'ORDER_CONFIRMED', true],
        [together, 'ORDER_CONFIRMED', false],
        [together, 'ORDER_PLACED', false],
      ]);
      const ours = (rows: { order_id: string | null; kind: string }[]) =>
        rows.filter((r) => r.order_id !== null && [waited, fresh, together].includes(r.order_id)).map((r) => [r.order_id, r.kind]);
      const claim = async (queuedOrders: string[] = []) => {
        const { rows } = await client.query<{ order_id: string | null; kind: string; released: number }>(claimStatement('email'), [60_000, 100, queuedOrders]);
        return { mails: ours(rows), released: rows[0].released };
      };
      // Other tests' mails due now may be claimed beside them (and are given back by the rollback).
      expect((await claim()).mails).toEqual([[together, 'ORDER_PLACED']]);

      // One wait runs out; the other order's placed mail is queued, and the claim hears of that order.
      await client.query(`UPDATE email.sent_mails SET held_until = now() - interval '1 second' WHERE order_id = $1`, [waited]);
      await insertMails(pg, [mail(fresh, 'ORDER_PLACED')]);
      const releasing = await claim([fresh]);
      // It releases both, claimable from its next statement on (and says so, for the loop to claim again).
      expect(releasing.mails).toEqual([[fresh, 'ORDER_PLACED']]);
      expect(releasing.released).toBeGreaterThanOrEqual(2);
      expect((await held()).filter(([, , h]) => h)).toEqual([]);
      expect((await claim()).mails).toEqual([[waited, 'ORDER_CONFIRMED']]);
      // Its placed mail turns up while the confirmation is in flight: it waits, never two of an order at once.
      await insertMails(pg, [mail(waited, 'ORDER_PLACED')]);
      expect((await claim()).mails).toEqual([]);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  });

  it('releases a confirmation held because its placed mail was queued by a transaction running beside its own (neither saw the other)', async () => {
    const email = customer('race');
    const placed = placedEnvelope({ customerEmail: email, unitPriceCents: 1200 });
    const orderId = placed.payload.orderId;
    const mail = (kind: MailKind, subject: string): MailRow => {
      const eventId = randomUUID();
      return [eventId, `<${eventId}@shop.test>`, orderId, kind, email, subject, 't', '<p>h</p>', 'race'];
    };
    const [one, two] = [new Client({ connectionString: stack.databaseUrl }), new Client({ connectionString: stack.databaseUrl })];
    await Promise.all([one.connect(), two.connect()]);
    try {
      const pg = (c: Client) => ({ query: (sql: string, params: unknown[]) => c.query(sql, params) });
      await Promise.all([one.query('BEGIN'), two.query('BEGIN')]);
      await insertMails(pg(one), [mail('ORDER_CONFIRMED', 'second')]);
      await insertMails(pg(two), [mail('ORDER_PLACED', 'first')]);
      await two.query('COMMIT');
      await one.query('COMMIT');
      expect((await mailRows(orderId)).map((m) => m.kind)).toEqual(['ORDER_CONFIRMED', 'ORDER_PLACED']);
      const [{ held }] = await query<{ held: boolean }>(stack.databaseUrl, `SELECT held_until IS NOT NULL AS held FROM email.sent_mails WHERE order_id = $1 AND kind = 'ORDER_CONFIRMED'`, [orderId]);
      expect(held).toBe(true);
    } finally {
      await Promise.all([one.end(), two.end()]);
    }
    // What the handler does once its transaction committed; the hold (a minute) would outlast this wait.
    app.app.get(MailDeliveryService).queued(orderId);
    await expectEventually(() => expect(subjectsOf(sink.mailsTo(email))).toEqual(['first', 'second']), 15_000);
  });

  it('sends no "We received your order" once a later mail of the order has gone (order.placed parked and redriven, or a backlog past the wait)', async () => {
    const email = customer('latecomer');
    const placed = placedEnvelope({ customerEmail: email, unitPriceCents: 1200 });
    const { orderId } = placed.payload;
    const confirmed = envelopeOf(OrderConfirmed, { ...placed.payload, confirmedAt: new Date().toISOString() });
    await publish(kafka, `${stack.prefix}order.confirmed`, [{ key: placed.key, value: confirmed }]);
    // Held for its placed mail; the wait runs out (AWAIT_PLACED_MAIL_MS, a minute: ended here by hand) and it goes alone.
    await expectEventually(async () => expect((await mailRows(orderId)).map((m) => m.kind)).toEqual(['ORDER_CONFIRMED']));
    await query(stack.databaseUrl, `UPDATE email.sent_mails SET held_until = now() WHERE order_id = $1`, [orderId]);
    app.app.get(MailDeliveryService).wake();
    await expectEventually(async () => expect((await mailRows(orderId)).map((m) => m.status)).toEqual(['SENT']));

    await handledByEmail(`${stack.prefix}order.placed`, { key: placed.key, value: placed });
    expect((await mailRows(orderId)).map((m) => m.kind)).toEqual(['ORDER_CONFIRMED']);
    expect(subjectsOf(sink.mailsTo(email))).toEqual([`Your order is confirmed (order ${orderId.slice(-8)})`]);
  });

  it('sends no confirmation after the cancellation when order.confirmed is consumed after order.cancelled (a retry, a backlog on its topic)', async () => {
    const email = customer('late');
    const placed = placedEnvelope({ customerEmail: email, unitPriceCents: 1200 });
    const { orderId } = placed.payload;
    const confirmed = envelopeOf(OrderConfirmed, { ...placed.payload, confirmedAt: new Date().toISOString() });
    const cancelled = envelopeOf(OrderCancelled, { ...placed.payload, previousStatus: 'CONFIRMED' as const, cancelledAt: new Date().toISOString() });
    const id = orderId.slice(-8);
    await publish(kafka, `${stack.prefix}order.placed`, [{ key: placed.key, value: placed }]);
    await publish(kafka, `${stack.prefix}order.cancelled`, [{ key: placed.key, value: cancelled }]);
    await expectEventually(() => expect(subjectsOf(sink.mailsTo(email))).toEqual([`We received your order (order ${id})`, `Your order was cancelled (order ${id})`]));

    await handledByEmail(`${stack.prefix}order.confirmed`, { key: placed.key, value: confirmed });
    expect((await mailRows(orderId)).map((m) => m.kind)).toEqual(['ORDER_PLACED', 'ORDER_CANCELLED']);
    expect(sink.mailsTo(email)).toHaveLength(2);

    // Queued together: the confirmation goes when it comes first, and is dropped when it comes after.
    const mail = (order: string, kind: MailKind): MailRow => {
      const eventId = randomUUID();
      return [eventId, `<${eventId}@shop.test>`, order, kind, email, kind, 't', '<p>h</p>', 'late'];
    };
    const [first, after] = [randomUUID(), randomUUID()];
    const pg = new Client({ connectionString: stack.databaseUrl });
    await pg.connect();
    try {
      await pg.query('BEGIN');
      await insertMails(pg, [mail(first, 'ORDER_PLACED'), mail(first, 'ORDER_CONFIRMED'), mail(first, 'ORDER_CANCELLED')]);
      await insertMails(pg, [mail(after, 'ORDER_PLACED'), mail(after, 'ORDER_CANCELLED'), mail(after, 'ORDER_CONFIRMED')]);
      const kinds = await pg.query(`SELECT order_id, kind FROM email.sent_mails WHERE order_id = ANY($1::uuid[]) ORDER BY seq`, [[first, after]]);
      expect(kinds.rows.map((r: { order_id: string; kind: string }) => [r.order_id === first ? 'first' : 'after', r.kind])).toEqual([
        ['first', 'ORDER_PLACED'],
        ['first', 'ORDER_CONFIRMED'],
        ['first', 'ORDER_CANCELLED'],
        ['after', 'ORDER_PLACED'],
        ['after', 'ORDER_CANCELLED'],
      ]);
    } finally {
      await pg.query('ROLLBACK').catch(() => undefined);
      await pg.end();
    }
  });

  it('sends no second mail when order.confirmed is delivered again', async () => {
    const email = customer('bob');
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email);
    await expectEventually(() => expect(sink.mailsTo(email)).toHaveLength(2));

    const topic = `${stack.prefix}order.confirmed`;
    const isOurs = (value: Buffer | null) => value !== null && JSON.parse(value.toString()).payload.orderId === order.id;
    const original = (await readTopics(kafka, [topic], (ms) => ms.some((m) => isOurs(m.message.value)))).find((m) =>
      isOurs(m.message.value),
    )!;
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const [written] = await producer.send({
      topic,
      acks: -1,
      messages: [{ key: original.message.key, value: original.message.value, headers: original.message.headers }],
    });
    await producer.disconnect();
    expect(written.partition).toBe(original.partition);

    // Once the email group has committed past the copy, its handler has seen it.
    await expectEventually(async () => {
      const [offsets] = await admin.fetchOffsets({ groupId: `${stack.prefix}email`, topics: [topic] });
      const committed = offsets.partitions.find((p) => p.partition === written.partition)!;
      expect(BigInt(committed.offset)).toBeGreaterThan(BigInt(written.baseOffset!));
    });
    expect(await mailRows(order.id)).toHaveLength(2);
    expect(subjectsOf(sink.mailsTo(email))).toHaveLength(2);
    expect(await topicSize(admin, `${stack.prefix}email.dlq`)).toBe(0);
  });

  it('retries a mail the server refuses for now (451) with backoff and delivers it exactly once', async () => {
    const email = customer('greylisted');
    sink.answer((to, attempt) => (to === email && attempt <= 2 ? { code: 451, message: '4.7.1 Greylisted, try again later' } : 'accept'));
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email);

    const rows = await mailsReach(order.id, 'SENT');
    expect(rows.map((r) => r.attempts)).toEqual([3, 1]);
    // Two refusals, one acceptance of the placed mail, then the confirmation: never overtaken, never doubled.
    expect(sink.attempts.get(email)).toBe(4);
    expect(subjectsOf(sink.mailsTo(email))).toEqual([
      `We received your order (order ${order.id.slice(-8)})`,
      `Your order is confirmed (order ${order.id.slice(-8)})`,
    ]);
  });

  it('records a mail the server refuses for good (550) as FAILED, parks nothing, keeps the address out of the log and keeps mailing others', async () => {
    const email = customer('nobody');
    // As Postfix words it, the refusal repeats the address.
    sink.answer((to) => (to === email ? { code: 550, message: `5.1.1 <${to}>: Recipient address rejected` } : 'accept'));
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email);

    const rows = await mailsReach(order.id, 'FAILED');
    expect(rows.map((r) => r.attempts)).toEqual([1, 1]);
    expect(rows[0].error).toContain('550');
    const failed = logs.filter((l) => l.includes('FAILED for good') && l.includes(order.id));
    expect(failed).toHaveLength(2);
    expect(failed[0]).toContain('<[address]>');
    expect(logs.filter((l) => l.includes(email))).toEqual([]);
    expect(sink.mailsTo(email)).toHaveLength(0);
    expect(await topicSize(admin, `${stack.prefix}email.dlq`)).toBe(0);

    const next = customer('next');
    await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], next);
    await expectEventually(() => expect(sink.mailsTo(next)).toHaveLength(2));
  });

  it('keeps an address the address pattern cannot see whole (an apostrophe) out of the log, however the server quotes it', async () => {
    const tag = randomBytes(4).toString('hex');
    const email = `${tag}'o@example.com`;
    sink.answer((to) => (to === email ? { code: 550, message: `5.1.1 <${to.toUpperCase()}>: Recipient address rejected` } : 'accept'));
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email);
    await mailsReach(order.id, 'FAILED');
    expect(logs.filter((l) => l.includes('FAILED for good') && l.includes(order.id))).toHaveLength(2);
    expect(logs.filter((l) => l.toLowerCase().includes(tag))).toEqual([]);
  });

  it('waits for a slow answer to DATA (longer than SMTP_TIMEOUT_MS) instead of sending the mail the server already took a second time', async () => {
    const email = customer('slow');
    // The first mail's DATA is kept 3 s before the 250: past the suite's 2 s SMTP_TIMEOUT_MS.
    sink.hold((to, attempt) => (to === email && attempt === 1 ? 3000 : 0));
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email);
    const rows = await expectEventually(async () => {
      const r = await mailRows(order.id);
      expect(r.map((m) => m.status)).toEqual(['SENT', 'SENT']);
      return r;
    }, 20_000);
    expect(rows.map((r) => r.attempts)).toEqual([1, 1]);
    expect(subjectsOf(sink.mailsTo(email))).toEqual([
      `We received your order (order ${order.id.slice(-8)})`,
      `Your order is confirmed (order ${order.id.slice(-8)})`,
    ]);
  });

  it.each([
    ['turns our host away at the greeting (554: an allowlist)', 'connect', { code: 554, message: '5.7.1 Client host rejected: access denied' }],
    ['refuses our sender at MAIL FROM (550)', 'sender', { code: 550, message: '5.7.1 Sender address rejected: not owned by user shop' }],
    // Postfix's default (smtpd_delay_reject=yes) gives a relay or client refusal at RCPT TO.
    ['refuses to relay for us at RCPT TO (554)', 'recipient', { code: 554, message: '5.7.1 Relay access denied' }],
  ] as const)('keeps mails queued while the server %s, our setup and not the mail; sends them once it accepts', async (_, stage, refusal) => {
    const email = customer('setup');
    const refuseThrice = (attempt: number): SinkVerdict => (attempt <= 3 ? refusal : 'accept');
    if (stage === 'connect') sink.answerConnect(refuseThrice);
    else if (stage === 'sender') sink.answerSender(refuseThrice);
    else sink.answer((_, attempt) => refuseThrice(attempt));
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email);
    const rows = await mailsReach(order.id, 'SENT');
    expect(rows[0].attempts).toBe(4);
    expect(sink.mailsTo(email)).toHaveLength(2);
    expect(logs.filter((l) => l.includes(order.id) && l.includes('the SMTP setup refused'))).toHaveLength(3);
  });

  it('records how many attempts our setup refused, apart from the attempts a mail spends', async () => {
    const email = customer('relayed');
    sink.answer((_, attempt) => (attempt <= 2 ? { code: 554, message: '5.7.1 Relay access denied' } : attempt === 3 ? { code: 451, message: '4.3.0 try later' } : 'accept'));
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email);
    await mailsReach(order.id, 'SENT');
    const rows = await query<{ attempts: number; setup_refusals: number }>(
      stack.databaseUrl,
      `SELECT attempts, setup_refusals FROM email.sent_mails WHERE order_id = $1 ORDER BY seq`,
      [order.id],
    );
    expect(rows).toEqual([
      { attempts: 4, setup_refusals: 2 },
      { attempts: 1, setup_refusals: 0 },
    ]);
  });

  it('does not give a mail up for attempts its setup refused: one that waited out a long refusal still gets EMAIL_MAX_ATTEMPTS of its own', async () => {
    const email = customer('waited');
    let refusing = true;
    sink.answer((to) => (to === email && refusing ? { code: 451, message: '4.3.0 try later' } : 'accept'));
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email);
    // As if our setup had refused 38 of its attempts (hours of a wrong password): 40 attempts, 2 its own.
    await expectEventually(async () => {
      const updated = await query(
        stack.databaseUrl,
        `UPDATE email.sent_mails SET attempts = 40, setup_refusals = 38, next_attempt_at = now()
         WHERE order_id = $1 AND kind = 'ORDER_PLACED' AND status = 'QUEUED' AND attempts >= 1 RETURNING 1`,
        [order.id],
      );
      expect(updated).toHaveLength(1);
    });
    // Attempt 41 is refused for now: the 3rd of its own (of 30), so it is queued again, not FAILED.
    await expectEventually(async () => {
      const [placed] = await mailRows(order.id);
      expect([placed.attempts >= 41, placed.status]).toEqual([true, 'QUEUED']);
    });
    refusing = false;
    const rows = await mailsReach(order.id, 'SENT');
    expect(rows[0].attempts).toBeGreaterThanOrEqual(42);
  });

  it('keeps what a newer attempt recorded when an older one, past its lease, fails late: no third send', async () => {
    const email = customer('overtaken');
    sink.answer(async (to, attempt) => {
      if (to !== email || attempt > 1) return 'accept';
      // While attempt 1 waits for its reply, another instance takes the mail over and sends it.
      await query(
        stack.databaseUrl,
        `UPDATE email.sent_mails SET status = 'SENT', attempts = attempts + 1, sent_at = now(), lease_until = NULL
         WHERE recipient = $1 AND kind = 'ORDER_PLACED' AND status = 'SENDING'`,
        [email],
      );
      return { code: 451, message: '4.3.0 try later' };
    });
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email);
    const rows = await mailsReach(order.id, 'SENT');
    expect(rows[0].attempts).toBe(2);
    // The late 451 did not turn it back into QUEUED: only the confirmation reached the server.
    expect(subjectsOf(sink.mailsTo(email))).toEqual([`Your order is confirmed (order ${order.id.slice(-8)})`]);
    expect(logs.some((l) => l.includes(order.id) && l.includes('another attempt took the mail over'))).toBe(true);
  });

  it('lets the order flow go on while SMTP is down, and catches up once it is back', async () => {
    await sink.stop();
    const email = customer('patient');
    let order: { id: string };
    try {
      order = await placeOrder(app, [{ sku: 'MUG', quantity: 1 }], email);
      await orderReaches(app, order.id, 'CONFIRMED');
      await expectEventually(async () => {
        const [placed] = await mailRows(order.id);
        expect(placed).toMatchObject({ kind: 'ORDER_PLACED', status: 'QUEUED' });
        expect(placed.attempts).toBeGreaterThanOrEqual(2);
        expect(placed.error).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
      });
    } finally {
      await sink.start();
    }
    await expectEventually(async () => {
      expect((await mailRows(order.id)).map((m) => m.status)).toEqual(['SENT', 'SENT']);
    });
    expect(sink.mailsTo(email)).toHaveLength(2);
    expect(await topicSize(admin, `${stack.prefix}email.dlq`)).toBe(0);
  });

  it('lists what was sent for an order to an admin, and to nobody else', async () => {
    const email = customer('listed');
    const order = await placeOrder(app, [{ sku: 'MUG', quantity: 3 }], email);
    await expectEventually(async () => expect((await mailRows(order.id)).map((m) => m.status)).toEqual(['SENT', 'SENT']));

    const res = await app.http.get('/emails').query({ orderId: order.id }).set(app.admin).expect(200);
    expect(res.body.orderId).toBe(order.id);
    expect(res.body.items).toEqual([
      expect.objectContaining({ kind: 'ORDER_PLACED', recipient: email, status: 'SENT', attempts: 1, error: null }),
      expect.objectContaining({ kind: 'ORDER_CONFIRMED', recipient: email, status: 'SENT', messageId: expect.stringMatching(/^<.+@shop\.test>$/) }),
    ]);
    await app.http.get('/emails').query({ orderId: order.id }).expect(401);
    await app.http.get('/emails').query({ orderId: 'not-a-uuid' }).set(app.admin).expect(400);
  });
});
