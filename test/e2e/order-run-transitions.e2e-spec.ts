import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { OrderInitial1764000000000 } from '../../src/modules/order/migrations/1764000000000-order-initial';
import { OrderTransitions } from '../../src/modules/order/order-transitions';
import { BatchTransaction } from '../../src/platform/kafka/batch-transaction';
import { Outbox } from '../../src/platform/kafka/outbox';
import { createModuleDatabase, query } from '../support/test-database';

/**
 * The order's status changes in a consumer run, against Postgres: the run names its orders (the
 * messages' keys), so its first stock decision locks and reads all of them with one statement, and
 * their new statuses and audit rows are written with one more just before the run commits.
 */
describe('order transitions once per run', () => {
  let db: Awaited<ReturnType<typeof createModuleDatabase>>;
  let ds: DataSource;
  const transitions = new OrderTransitions(new Outbox('orders', 'order'));
  const cause = (eventId: string) => ({ correlationId: `c-${eventId}`, causationId: eventId, eventId });

  beforeAll(async () => {
    db = await createModuleDatabase('runorders', 'orders', [OrderInitial1764000000000]);
    ds = db.dataSource;
  });

  afterAll(async () => db?.drop());

  const pendingOrder = async (): Promise<string> => {
    const id = randomUUID();
    await query(db.url, `INSERT INTO orders.orders (id, customer_email, status, total_cents, correlation_id) VALUES ($1, 'run@example.com', 'PENDING', 300, 'c')`, [id]);
    await query(db.url, `INSERT INTO orders.order_lines (order_id, sku, quantity, unit_price_cents) VALUES ($1, 'MUG', 3, 100)`, [id]);
    return id;
  };
  const status = async (id: string) => (await query<{ status: string }>(db.url, `SELECT status FROM orders.orders WHERE id = $1`, [id]))[0].status;
  /** Whether another transaction finds the order's row locked (NOWAIT fails at once). */
  const lockedElsewhere = async (id: string) => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`SELECT 1 FROM orders.orders WHERE id = $1 FOR UPDATE NOWAIT`, [id]);
      return false;
    } catch (e) {
      if ((e as { code?: string }).code === '55P03') return true;
      throw e;
    } finally {
      await c.end();
    }
  };

  it('locks the run’s orders at its first decision, applies the status machine in memory and writes statuses and audit rows at commit', async () => {
    const [a, b, other] = [await pendingOrder(), await pendingOrder(), await pendingOrder()];
    const [ea, eb, again] = [randomUUID(), randomUUID(), randomUUID()];
    const run = new BatchTransaction(250, [], [a, b, 'SKU-NOT-AN-ORDER']);
    const seen = await run.run(async () => {
      const m = await run.manager(ds);
      const confirmed = await transitions.apply(m, a, { to: 'CONFIRMED' }, cause(ea));
      const locks = await Promise.all([a, b, other].map(lockedElsewhere));
      const rejected = await transitions.apply(m, b, { to: 'REJECTED', reason: 'OUT_OF_STOCK', skus: ['MUG'] }, cause(eb));
      const late = await transitions.apply(m, a, { to: 'REJECTED', reason: 'OUT_OF_STOCK', skus: ['MUG'] }, cause(again)); // a is CONFIRMED now
      return { confirmed, rejected, late, locks, before: [await status(a), await status(b)] };
    });
    expect(seen).toEqual({
      confirmed: { applied: true },
      rejected: { applied: true },
      late: { applied: false, from: 'CONFIRMED' },
      locks: [true, true, false],
      before: ['PENDING', 'PENDING'], // nothing written before the commit
    });
    await run.commit();
    expect([await status(a), await status(b)]).toEqual(['CONFIRMED', 'REJECTED']);
    const history = await query<{ order_id: string; status: string; event_id: string; reason: string | null }>(
      db.url,
      `SELECT order_id, status, event_id, reason FROM orders.order_status_history WHERE order_id = ANY($1::uuid[]) ORDER BY id`,
      [[a, b]],
    );
    expect(history).toEqual([
      { order_id: a, status: 'CONFIRMED', event_id: ea, reason: null },
      { order_id: b, status: 'REJECTED', event_id: eb, reason: 'OUT_OF_STOCK' },
    ]);
    const [rejection] = await query<{ envelope: { type: string; payload: { customerEmail: string; items: unknown[]; totalCents: number } } }>(
      db.url,
      `SELECT envelope FROM orders.outbox WHERE key = $1`,
      [b],
    );
    expect(rejection.envelope).toMatchObject({
      type: 'order.rejected',
      payload: { customerEmail: 'run@example.com', items: [{ sku: 'MUG', quantity: 3, unitPriceCents: 100 }], totalCents: 300 },
    });
  });

  it('applies an order the run does not name, or a change outside a run, with a statement of its own', async () => {
    const [named, other] = [await pendingOrder(), await pendingOrder()];
    const run = new BatchTransaction(250, [], [named]);
    const outcome = await run.run(async () => transitions.apply(await run.manager(ds), other, { to: 'CANCELLED' }, cause(randomUUID())));
    expect(outcome).toEqual({ applied: true });
    expect(await Promise.all([named, other].map(lockedElsewhere))).toEqual([false, true]);
    await run.commit();
    expect(await status(other)).toBe('CANCELLED');
  });

  it('announces a change outside a run under the id as the order spells it, whatever case the event gave it (the key picks the partition)', async () => {
    const id = await pendingOrder();
    const alone = new BatchTransaction();
    const outcome = await alone.run(async () => transitions.apply(await alone.manager(ds), id.toUpperCase(), { to: 'CONFIRMED' }, cause(randomUUID())));
    await alone.commit();
    expect(outcome).toEqual({ applied: true });
    const rows = await query<{ key: string; order_id: string }>(db.url, `SELECT key, envelope->'payload'->>'orderId' AS order_id FROM orders.outbox WHERE lower(key) = $1`, [id]);
    expect(rows).toEqual([{ key: id, order_id: id }]);
  });
});
