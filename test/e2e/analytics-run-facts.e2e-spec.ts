import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AnalyticsInitial1764000000000 } from '../../src/modules/analytics/migrations/1764000000000-analytics-initial';
import { AnalyticsProjections1764100000000 } from '../../src/modules/analytics/migrations/1764100000000-analytics-projections';
import { ProjectionStore } from '../../src/modules/analytics/project-event/projection-store';
import { BatchTransaction } from '../../src/platform/kafka/batch-transaction';
import { createModuleDatabase, query } from '../support/test-database';

/**
 * The analytics facts of a consumer run, against Postgres: the run names its orders (the messages'
 * keys), so the first event locks the facts of all of them with one statement and the others read
 * theirs from it.
 */
describe('analytics facts locked once per run', () => {
  let db: Awaited<ReturnType<typeof createModuleDatabase>>;
  let ds: DataSource;
  const store = new ProjectionStore();

  beforeAll(async () => {
    db = await createModuleDatabase('runfacts', 'analytics', [AnalyticsInitial1764000000000, AnalyticsProjections1764100000000]);
    ds = db.dataSource;
  });

  afterAll(async () => db?.drop());

  /**
   * Whether another transaction would wait for this order's fact: it tries to take the row (or to
   * create it: a row inserted by an open transaction is invisible but still holds its key) with a
   * short lock timeout, and rolls back either way.
   */
  const lockedElsewhere = async (orderId: string) => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`BEGIN`);
      await c.query(`SET LOCAL lock_timeout = '100ms'`);
      await c.query(
        `INSERT INTO analytics.order_facts (order_id) VALUES ($1) ON CONFLICT (order_id) DO UPDATE SET order_id = excluded.order_id`,
        [orderId],
      );
      return false;
    } catch (e) {
      if ((e as { code?: string }).code === '55P03') return true; // lock_not_available
      throw e;
    } finally {
      await c.query(`ROLLBACK`).catch(() => undefined);
      await c.end();
    }
  };

  it("locks the facts of every order the run names when its first event asks for one, and serves the others from that read", async () => {
    const [first, second, later] = [randomUUID(), randomUUID(), randomUUID()];
    await query(db.url, `INSERT INTO analytics.order_facts (order_id, total_cents) VALUES ($1, 700)`, [second]);
    const run = new BatchTransaction(250, [], [first, 'SKU-NOT-AN-ORDER', second.toUpperCase()]);
    const seen = await run.run(async () => {
      const m = await run.manager(ds);
      const fact = await store.lockFact(m, first);
      // Both named orders are locked now, the one not yet in the table created empty; the other is untouched.
      const locks = await Promise.all([first, second, later].map(lockedElsewhere));
      return { fact, secondTotal: (await store.lockFact(m, second)).totalCents, locks };
    });
    expect(seen.fact).toMatchObject({ orderId: first, totalCents: null });
    expect(seen.secondTotal).toBe(700);
    expect(seen.locks).toEqual([true, true, false]);
    await run.commit();
    expect(await Promise.all([first, second].map(lockedElsewhere))).toEqual([false, false]);
  });

  it('locks an order the run does not name, or one handled alone, with a statement of its own', async () => {
    const [named, other] = [randomUUID(), randomUUID()];
    const run = new BatchTransaction(250, [], [named]);
    const locks = await run.run(async () => {
      const m = await run.manager(ds);
      await store.lockFact(m, other);
      return Promise.all([named, other].map(lockedElsewhere));
    });
    expect(locks).toEqual([false, true]);
    await run.rollback();

    const alone = new BatchTransaction();
    const aloneLocks = await alone.run(async () => {
      const m = await alone.manager(ds);
      await store.lockFact(m, named);
      return Promise.all([named, other].map(lockedElsewhere));
    });
    expect(aloneLocks).toEqual([true, false]);
    await alone.rollback();
  });

  it("gives a later event of the run the fact an earlier one changed, whatever case the later one spells the order id in", async () => {
    const order = randomUUID();
    const run = new BatchTransaction(250, [], [order]);
    const later = await run.run(async () => {
      const m = await run.manager(ds);
      const fact = await store.lockFact(m, order);
      store.saveFact(m, { ...fact, totalCents: 4200 });
      return store.lockFact(m, order.toUpperCase());
    });
    await run.rollback();
    expect(later).toMatchObject({ orderId: order, totalCents: 4200 });
  });
});
