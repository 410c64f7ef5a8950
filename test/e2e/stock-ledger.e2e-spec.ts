import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { OrderCancelled } from '../../src/contracts';
import { ReleaseStockService } from '../../src/modules/warehouse/on-order-closed/release-stock.service';
import { ReserveStockService } from '../../src/modules/warehouse/on-order-placed/reserve-stock.service';
import { ReservationTakenError } from '../../src/modules/warehouse/reservation-claim';
import { WarehouseInitial1764000000000 } from '../../src/modules/warehouse/migrations/1764000000000-warehouse-initial';
import { RecentShortages, Refusal, StockLedger, StockMovedError } from '../../src/modules/warehouse/stock-ledger';
import { BatchTransaction } from '../../src/platform/kafka/batch-transaction';
import { Inbox } from '../../src/platform/kafka/inbox';
import { Outbox } from '../../src/platform/kafka/outbox';
import { expectEventually } from '../support/eventually';
import { envelopeOf, placedEnvelope } from '../support/kafka';
import { createModuleDatabase, query } from '../support/test-database';

/**
 * The warehouse's stock changes in shared consumer transactions, against Postgres: reads without
 * locks inside a run, one locked update at commit, and a run that lost a race failing as a whole.
 */
describe('StockLedger: stock taken and given back once per transaction, checked at commit', () => {
  let db: Awaited<ReturnType<typeof createModuleDatabase>>;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createModuleDatabase('ledger', 'warehouse', [WarehouseInitial1764000000000]);
    ds = db.dataSource;
  });

  afterAll(async () => db?.drop());

  const product = async (sku: string, available: number) =>
    query(db.url, `INSERT INTO warehouse.products (sku, name, price_cents, available) VALUES ($1, $1, 100, $2)`, [sku, available]);
  const stock = async (sku: string) =>
    (await query<{ available: number; reserved: number }>(db.url, `SELECT available, reserved FROM warehouse.products WHERE sku = $1`, [sku]))[0];

  /** A transaction as a consumer run (shared) or a single event would have it. */
  const transaction = (shared: boolean) => (shared ? new BatchTransaction(250, []) : new BatchTransaction());
  const inside = <T>(tx: BatchTransaction, fn: (ledger: StockLedger, reserve: (sku: string, quantity: number) => Promise<Refusal>) => Promise<T>) =>
    tx.run(async () => {
      const m = await tx.manager(ds);
      const ledger = StockLedger.of(m);
      return fn(ledger, (sku, quantity) => ledger.reserve(m, [{ sku, quantity }]));
    });
  const granted: Refusal = { unknown: [], short: [] };
  /** Locks held on the products table by any transaction (a read under lock, or an update, takes one). */
  const productLocks = async () =>
    (await query<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'products'`))[0].n;

  it('takes stock in a run without reading or locking it, sums what the run took and gave back, and writes it once at commit', async () => {
    await product('MUG', 5);
    const run = transaction(true);
    const answers = await inside(run, async (ledger, reserve) => {
      const taken = [await reserve('MUG', 2), await reserve('MUG', 1)];
      ledger.release([{ sku: 'MUG', quantity: 1 }]);
      return { taken, locks: await productLocks() };
    });
    expect(answers).toEqual({ taken: [granted, granted], locks: 0 }); // the products table was not touched
    expect(await stock('MUG')).toEqual({ available: 5, reserved: 0 }); // nothing written before the commit
    await run.commit();
    expect(await stock('MUG')).toEqual({ available: 3, reserved: 2 });
  });

  it('fails the run that commits second when two runs took the same last units, and leaves the stock as the first left it', async () => {
    await product('LAST', 3);
    const first = transaction(true);
    const second = transaction(true);
    for (const run of [first, second]) {
      await inside(run, async (_ledger, reserve) => expect(await reserve('LAST', 3)).toEqual(granted)); // neither sees the other
    }
    await first.commit();
    await expect(second.commit()).rejects.toThrow(StockMovedError);
    expect(await stock('LAST')).toEqual({ available: 0, reserved: 3 });
  });

  it('leaves refusals to the one-by-one path: in a run an unknown SKU or a shortfall fails the commit; alone they are answered on locked rows', async () => {
    await product('FEW', 2);
    for (const [sku, quantity] of [['NOPE', 1], ['FEW', 3]] as const) {
      const run = transaction(true);
      await inside(run, async (_ledger, reserve) => expect(await reserve(sku, quantity)).toEqual(granted));
      await expect(run.commit()).rejects.toThrow(StockMovedError);
    }
    const alone = transaction(false);
    const refusals = await inside(alone, async (_ledger, reserve) => [await reserve('NOPE', 1), await reserve('FEW', 3), await reserve('FEW', 2)]);
    await alone.commit();
    expect(refusals).toEqual([{ unknown: ['NOPE'], short: [] }, { unknown: [], short: ['FEW'] }, granted]);
    expect(await stock('FEW')).toEqual({ available: 0, reserved: 2 });
  });

  it('refuses in a run, on one read without locks, an order for a SKU found short lately, counting what the run took; what it grants is still checked at commit', async () => {
    await product('SCARCE', 1);
    await product('AMPLE', 10);
    const shortages = new RecentShortages();
    const reserveIn = (run: BatchTransaction, lines: [string, number][]) =>
      run.run(async () => {
        const m = await run.manager(ds);
        const ledger = StockLedger.of(m, shortages);
        const answers: Refusal[] = [];
        for (const [sku, quantity] of lines) answers.push(await ledger.reserve(m, [{ sku, quantity }]));
        // A plain read takes AccessShareLock on the table; a read under lock (FOR UPDATE) RowShareLock.
        const modes = await query<{ mode: string }>(db.url, `SELECT l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'products'`);
        return { answers, locks: modes.map((r) => r.mode).filter((mode) => mode !== 'AccessShareLock') };
      });
    // Not known short yet: taken optimistically, and the commit finds it short (the run falls back).
    const first = transaction(true);
    expect((await reserveIn(first, [['SCARCE', 2]])).answers).toEqual([granted]);
    await expect(first.commit()).rejects.toThrow(StockMovedError);
    expect(shortages.current()).toEqual(['SCARCE']);

    const second = transaction(true);
    const { answers, locks } = await reserveIn(second, [['SCARCE', 1], ['SCARCE', 1], ['AMPLE', 3]]);
    expect(answers).toEqual([granted, { unknown: [], short: ['SCARCE'] }, granted]);
    expect(locks).toEqual([]); // read, not locked
    await second.commit();
    expect(await stock('SCARCE')).toEqual({ available: 0, reserved: 1 });

    // Restocked: the next run's read sees it, and grants.
    await query(db.url, `UPDATE warehouse.products SET available = 5 WHERE sku = 'SCARCE'`);
    const third = transaction(true);
    expect((await reserveIn(third, [['SCARCE', 5]])).answers).toEqual([granted]);
    await third.commit();
    expect(await stock('SCARCE')).toEqual({ available: 0, reserved: 6 });
  });

  it('locks the rows on read when one event is handled alone, so a concurrent one waits and decides on what the first left', async () => {
    await product('ALONE', 1);
    const first = transaction(false);
    await inside(first, async (_ledger, reserve) => expect(await reserve('ALONE', 1)).toEqual(granted));
    const second = transaction(false);
    const decided = inside(second, async (_ledger, reserve) => reserve('ALONE', 1));
    await expectEventually(async () => {
      const waiting = await query<{ n: number }>(
        db.url,
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      expect(waiting[0].n).toBe(1);
    });
    await first.commit();
    expect(await decided).toEqual({ unknown: [], short: ['ALONE'] });
    await second.commit();
    expect(await stock('ALONE')).toEqual({ available: 0, reserved: 1 });
  });

  describe("the reservation row as the order's lock", () => {
    const services = () => {
      const inbox = new Inbox('warehouse', ds);
      const outbox = new Outbox('warehouse', 'warehouse');
      return { reserve: new ReserveStockService(inbox, outbox), release: new ReleaseStockService(inbox, outbox) };
    };
    const placed = (orderId: string, sku: string, quantity: number) => placedEnvelope({ orderId, sku, quantity });
    const cancelled = (of: ReturnType<typeof placed>) =>
      envelopeOf(OrderCancelled, { ...of.payload, previousStatus: 'PENDING' as const, cancelledAt: new Date().toISOString() });
    const waitingOnLocks = async (n: number) =>
      expectEventually(async () => {
        const rows = await query<{ n: number }>(
          db.url,
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        expect(rows[0].n).toBe(n);
      });
    const reservation = async (orderId: string) =>
      (await query<{ status: string }>(db.url, `SELECT status FROM warehouse.reservations WHERE order_id = $1`, [orderId]))[0]?.status;
    const outboxTypes = async (orderId: string) =>
      (await query<{ type: string }>(db.url, `SELECT envelope->>'type' AS type FROM warehouse.outbox WHERE key = $1 ORDER BY id`, [orderId])).map((r) => r.type);

    it('makes a release wait for the reservation being written, then gives the stock back', async () => {
      await product('RACE', 5);
      const { reserve, release } = services();
      const order = placed(randomUUID(), 'RACE', 2);
      const placing = transaction(false);
      await placing.run(() => reserve.reserve(order)); // reservation row inserted, not yet committed
      const closing = transaction(false);
      const released = closing.run(() => release.release(cancelled(order), 'ORDER_CANCELLED'));
      await waitingOnLocks(1);
      await placing.commit();
      await released;
      await closing.commit();
      expect(await reservation(order.payload.orderId)).toBe('RELEASED');
      expect(await stock('RACE')).toEqual({ available: 5, reserved: 0 });
      expect(await outboxTypes(order.payload.orderId)).toEqual(['stock.reserved', 'stock.released']);
    });

    it("writes a run's reservations at its commit; a CLOSED mark committed meanwhile fails the run, and alone the order is refused", async () => {
      await product('LATE-MARK', 5);
      const { reserve, release } = services();
      const order = placed(randomUUID(), 'LATE-MARK', 2);
      const run = transaction(true);
      await run.run(() => reserve.reserve(order));
      expect(await reservation(order.payload.orderId)).toBeUndefined(); // nothing written, nothing locked yet
      const closing = transaction(false);
      await closing.run(() => release.release(cancelled(order), 'ORDER_CANCELLED')); // does not wait
      await closing.commit();
      await expect(run.commit()).rejects.toThrow(ReservationTakenError);
      // What the transport does next: the run's events one transaction each.
      const alone = transaction(false);
      await alone.run(() => reserve.reserve(order));
      await alone.commit();
      expect(await reservation(order.payload.orderId)).toBe('REJECTED');
      expect(await stock('LATE-MARK')).toEqual({ available: 5, reserved: 0 });
      expect(await outboxTypes(order.payload.orderId)).toEqual(['stock.rejected']);
    });

    it('makes a reservation handled alone wait for a CLOSED mark being written, then reserve nothing', async () => {
      await product('CLOSING', 5);
      const { reserve, release } = services();
      const order = placed(randomUUID(), 'CLOSING', 2);
      const closing = transaction(false);
      await closing.run(() => release.release(cancelled(order), 'ORDER_CANCELLED')); // CLOSED mark, not yet committed
      const placing = transaction(false);
      const reserving = placing.run(() => reserve.reserve(order));
      await waitingOnLocks(1);
      await closing.commit();
      await reserving;
      await placing.commit();
      expect(await reservation(order.payload.orderId)).toBe('REJECTED');
      expect(await stock('CLOSING')).toEqual({ available: 5, reserved: 0 });
      expect(await outboxTypes(order.payload.orderId)).toEqual(['stock.rejected']);
    });
  });
});
