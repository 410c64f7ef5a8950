import { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { topicSize } from '../../support/kafka';
import { groupLag } from './groups';
import { LoadResult } from './load';

export const FINAL_STATES = ['CONFIRMED', 'REJECTED', 'CANCELLED'];
export const MODULES = ['order', 'warehouse', 'email', 'analytics'] as const;

export interface InvariantReport {
  accepted: number;
  finalReached: number;
  /** Acknowledged orders missing or not final, plus effects that never happened (reservation, mail, analytics). */
  lost: number;
  /** Effects that happened more than once (stock, mails, analytics, orders). */
  duplicates: number;
  /** Every broken invariant, in words (empty when all hold). */
  violations: string[];
  dlq: Record<string, number>;
}

export interface CheckOptions {
  databaseUrl: string;
  kafka: Kafka;
  prefix: string;
  load: Pick<LoadResult, 'accepted' | 'gaveUp'>;
  initialStock: Record<string, number>;
  /** Messages each module's DLQ must hold (poison scenarios); 0 elsewhere: a valid event must never be parked. */
  expectedDlq?: Partial<Record<(typeof MODULES)[number], number>>;
}

interface Row {
  [k: string]: unknown;
}

/** Reads every module's tables and the DLQ topics and checks the suite's invariants once. */
export async function checkInvariants(o: CheckOptions): Promise<InvariantReport> {
  const db = new Client({ connectionString: o.databaseUrl });
  await db.connect();
  const q = async <T extends Row>(sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows as T[];
  const violations: string[] = [];
  let lost = 0;
  let duplicates = 0;
  const sample = (ids: string[]) => `${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', …' : ''}`;
  try {
    const orders = await q<{ id: string; status: string }>(`SELECT id, status FROM orders.orders`);
    const status = new Map(orders.map((r) => [r.id, r.status]));
    const accepted = [...new Set(o.load.accepted)];
    if (accepted.length !== o.load.accepted.length) {
      duplicates += o.load.accepted.length - accepted.length;
      violations.push(`${o.load.accepted.length - accepted.length} Idempotency-Key retries answered a different order id`);
    }
    const missing = accepted.filter((id) => !status.has(id));
    const notFinal = accepted.filter((id) => status.has(id) && !FINAL_STATES.includes(status.get(id)!));
    const finalReached = accepted.length - missing.length - notFinal.length;
    lost += missing.length + notFinal.length;
    if (missing.length) violations.push(`${missing.length} acknowledged order(s) missing from orders.orders: ${sample(missing)}`);
    if (notFinal.length) violations.push(`${notFinal.length} acknowledged order(s) not in a final state: ${sample(notFinal)}`);
    const acceptedSet = new Set(accepted);
    const unacked = orders.filter((r) => !acceptedSet.has(r.id));
    // An order stored but never acknowledged is fine only for a client that gave up (its last attempt may have committed).
    if (unacked.length > o.load.gaveUp) {
      duplicates += unacked.length - o.load.gaveUp;
      violations.push(`${unacked.length} order(s) stored that no client got a 201 for (clients gave up on ${o.load.gaveUp})`);
    }
    const strayPending = unacked.filter((r) => !FINAL_STATES.includes(r.status));
    if (strayPending.length) violations.push(`${strayPending.length} unacknowledged stored order(s) not final`);

    // Stock: exactly one reservation per order, consistent with its final state, and the books balance.
    const reservations = await q<{ order_id: string; status: string; items: { sku: string; quantity: number }[] }>(
      `SELECT order_id, status, items FROM warehouse.reservations`,
    );
    const reservation = new Map(reservations.map((r) => [r.order_id, r]));
    const noReservation = orders.filter((r) => !reservation.has(r.id)).map((r) => r.id);
    if (noReservation.length) {
      lost += noReservation.length;
      violations.push(`${noReservation.length} order(s) the warehouse never handled: ${sample(noReservation)}`);
    }
    const confirmedUnreserved = orders.filter((r) => r.status === 'CONFIRMED' && reservation.has(r.id) && reservation.get(r.id)!.status !== 'RESERVED');
    if (confirmedUnreserved.length) {
      lost += confirmedUnreserved.length;
      violations.push(`${confirmedUnreserved.length} CONFIRMED order(s) hold no stock: ${sample(confirmedUnreserved.map((r) => r.id))}`);
    }
    const closedStillHeld = orders.filter((r) => r.status !== 'CONFIRMED' && reservation.get(r.id)?.status === 'RESERVED');
    if (closedStillHeld.length) {
      violations.push(`${closedStillHeld.length} REJECTED/CANCELLED order(s) still hold stock: ${sample(closedStillHeld.map((r) => r.id))}`);
    }
    const held = new Map<string, number>();
    for (const r of reservations) {
      if (r.status !== 'RESERVED') continue;
      for (const line of r.items) held.set(line.sku, (held.get(line.sku) ?? 0) + line.quantity);
    }
    const products = await q<{ sku: string; available: number; reserved: number }>(`SELECT sku, available, reserved FROM warehouse.products`);
    for (const p of products) {
      if (p.available < 0 || p.reserved < 0) violations.push(`${p.sku} has negative stock (available ${p.available}, reserved ${p.reserved})`);
      const initial = o.initialStock[p.sku];
      if (initial !== undefined && p.available + p.reserved !== initial) {
        const diff = p.available + p.reserved - initial;
        violations.push(`${p.sku}: available ${p.available} + reserved ${p.reserved} = ${p.available + p.reserved}, stock was ${initial}`);
        if (diff > 0) duplicates += diff;
        else lost -= diff;
      }
      if (p.reserved !== (held.get(p.sku) ?? 0)) {
        const diff = p.reserved - (held.get(p.sku) ?? 0);
        violations.push(`${p.sku}: reserved ${p.reserved} but RESERVED reservations hold ${held.get(p.sku) ?? 0}`);
        if (diff > 0) duplicates += diff;
        else lost -= diff;
      }
    }

    // Mail: one per order event — placed, then one per status the order went through.
    const expected = await q<{ order_id: string; kind: string }>(
      `SELECT id AS order_id, 'ORDER_PLACED' AS kind FROM orders.orders
       UNION ALL
       SELECT DISTINCT order_id, 'ORDER_' || status FROM orders.order_status_history WHERE status <> 'PENDING'`,
    );
    const mails = await q<{ order_id: string; kind: string; n: number }>(
      `SELECT order_id, kind, count(*)::int AS n FROM email.sent_mails GROUP BY order_id, kind`,
    );
    const mailCount = new Map(mails.map((m) => [`${m.order_id}/${m.kind}`, m.n]));
    const expectedKeys = new Set(expected.map((e) => `${e.order_id}/${e.kind}`));
    const missingMails = [...expectedKeys].filter((k) => !mailCount.has(k));
    const doubledMails = mails.filter((m) => m.n > 1);
    const extraMails = mails.filter((m) => !expectedKeys.has(`${m.order_id}/${m.kind}`));
    lost += missingMails.length;
    duplicates += doubledMails.reduce((s, m) => s + m.n - 1, 0) + extraMails.length;
    if (missingMails.length) violations.push(`${missingMails.length} mail(s) never queued: ${sample(missingMails)}`);
    if (doubledMails.length) violations.push(`${doubledMails.length} mail(s) queued more than once`);
    if (extraMails.length) violations.push(`${extraMails.length} mail(s) for a status the order never had`);

    // Every consumer saw each order.placed exactly once (a second event id for one order would be a doubled effect).
    for (const schema of ['warehouse', 'analytics']) {
      const [{ n }] = await q<{ n: number }>(`SELECT count(DISTINCT event_id)::int AS n FROM "${schema}".inbox WHERE type = 'order.placed'`);
      if (n !== orders.length) {
        if (n > orders.length) duplicates += n - orders.length;
        else lost += orders.length - n;
        violations.push(`${schema} handled ${n} order.placed event(s) for ${orders.length} order(s)`);
      }
    }

    for (const schema of ['orders', 'warehouse', 'email', 'analytics']) {
      const [{ n }] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".outbox`);
      if (n > 0) violations.push(`${schema}.outbox still holds ${n} event(s)`);
    }

    const dlq: Record<string, number> = {};
    const admin = o.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      for (const m of MODULES) {
        const topic = `${o.prefix}${m}.dlq`;
        dlq[m] = existing.has(topic) ? await topicSize(admin, topic) : 0;
        const want = o.expectedDlq?.[m] ?? 0;
        if (dlq[m] !== want) violations.push(`${topic} holds ${dlq[m]} message(s), expected ${want}`);
      }
    } finally {
      await admin.disconnect();
    }
    // Quiescence: every group has consumed everything, so nothing is still on its way.
    for (const m of MODULES) {
      const lag = await groupLag(o.kafka, `${o.prefix}${m}`);
      if (lag !== 0) violations.push(`group ${o.prefix}${m} still lags ${lag} message(s)`);
    }
    return { accepted: accepted.length, finalReached, lost, duplicates, violations, dlq };
  } finally {
    await db.end();
  }
}
