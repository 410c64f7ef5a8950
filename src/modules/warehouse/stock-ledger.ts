import { EntityManager } from 'typeorm';
import { BatchTransaction } from '../../platform/kafka/batch-transaction';
import { WAREHOUSE_SCHEMA as S } from './warehouse.schema';

interface Change {
  available: number;
  reserved: number;
}

/** At commit, a product is short (another transaction took its stock meanwhile) or unknown: the run is handled again event by event. */
export class StockMovedError extends Error {
  constructor(readonly skus: string[]) {
    super(`stock of ${skus.join(', ')} changed under this transaction; handling its events one by one`);
  }
}

/** What a reservation could not take: SKUs the warehouse does not know, and SKUs without enough stock. */
export interface Refusal {
  unknown: string[];
  short: string[];
}

/**
 * SKUs this process found short lately: a run failed at commit on them, or an order handled alone
 * was refused for them. A sold-out product keeps getting orders (the order module does not know
 * stock), and each would otherwise fail its whole run at commit and send the run's other events
 * one by one: one order in 25 for a sold-out SKU made nearly every run fall back. A run reads the
 * stock of these SKUs (and only these) once, without locks, and refuses on what it read.
 */
export class RecentShortages {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly forMs = 60_000,
    private readonly max = 10_000,
  ) {}

  mark(skus: Iterable<string>): void {
    const until = Date.now() + this.forMs;
    for (const sku of skus) {
      this.until.delete(sku); // re-inserted last: the map stays in expiry order
      this.until.set(sku, until);
    }
    // Expired or beyond the bound, oldest first.
    for (const [sku, at] of this.until) {
      if (at > Date.now() && this.until.size <= this.max) break;
      this.until.delete(sku);
    }
  }

  /** The SKUs short lately, as of now. */
  current(): string[] {
    const now = Date.now();
    return [...this.until].filter(([, at]) => at > now).map(([sku]) => sku);
  }

  has(sku: string): boolean {
    return (this.until.get(sku) ?? 0) > Date.now();
  }
}

/** The process' memory of shortages, shared by the warehouse's handlers. */
export const RECENT_SHORTAGES = new RecentShortages();

/**
 * The stock changes of one consumer transaction, written to `products` once, just before it
 * commits: the product rows are the warehouse's hottest (a run of a hundred orders touches most
 * SKUs), and locking them event by event made concurrent partitions' runs wait on each other until
 * the lock timeout threw them back to one transaction per event.
 *
 * Handling one event alone, the rows are locked when read (SKU order), so the decision is final.
 * In a shared run nothing is read: stock is taken optimistically and the update at commit checks
 * it: the rows are locked in SKU order, and an update that would take `available` or `reserved`
 * below zero, or a SKU that is not there, fails the run, whose events are then handled one by one,
 * where refusals are decided on locked, current rows. (A run that read first could only have
 * refused in the same way: a refusal seen in a run may be older than a restock.) So a run reads
 * only SKUs short lately (RecentShortages), once, and refuses on that read: a refusal is as valid
 * before a restock as after one, and what it grants is still checked at commit.
 */
export class StockLedger {
  private constructor(
    private readonly changes: Map<string, Change>,
    private readonly transaction: BatchTransaction,
    private readonly shortages: RecentShortages,
  ) {}

  static of(m: EntityManager, shortages = RECENT_SHORTAGES): StockLedger {
    const transaction = BatchTransaction.current();
    if (!transaction) throw new Error('stock changes run inside Inbox.once (a consumer transaction)');
    const changes = transaction.beforeCommit(m, `${S}.1-stock`, () => new Map<string, Change>(), (tm, state) =>
      write(tm, state).catch((e: unknown) => {
        if (e instanceof StockMovedError) shortages.mark(e.skus);
        throw e;
      }),
    );
    return new StockLedger(changes, transaction, shortages);
  }

  /** Takes every line's stock, or none and says why. Lines name distinct SKUs. */
  async reserve(m: EntityManager, lines: { sku: string; quantity: number }[]): Promise<Refusal> {
    const refusal = this.transaction.shared ? await this.refusedInRun(m, lines) : await this.refusedOnLockedRows(m, lines);
    if (refusal.unknown.length > 0 || refusal.short.length > 0) {
      this.shortages.mark([...refusal.unknown, ...refusal.short]);
      return refusal;
    }
    for (const { sku, quantity } of lines) this.add(sku, -quantity, quantity);
    return refusal;
  }

  /** Alone: the rows locked (SKU order) and read, so the decision is final. */
  private async refusedOnLockedRows(m: EntityManager, lines: { sku: string; quantity: number }[]): Promise<Refusal> {
    const rows: { sku: string; available: number }[] = await m.query(
      `SELECT sku, available FROM "${S}".products WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE`,
      [lines.map((l) => l.sku)],
    );
    const found = new Map(rows.map((r) => [r.sku, r.available + (this.changes.get(r.sku)?.available ?? 0)]));
    return {
      unknown: lines.filter((l) => !found.has(l.sku)).map((l) => l.sku),
      short: lines.filter((l) => found.has(l.sku) && found.get(l.sku)! < l.quantity).map((l) => l.sku),
    };
  }

  /**
   * In a run: lines of SKUs short lately are refused on the run's one read of those SKUs (with what
   * the run itself took and gave back); the rest is granted here and checked at commit.
   */
  private async refusedInRun(m: EntityManager, lines: { sku: string; quantity: number }[]): Promise<Refusal> {
    const refusal: Refusal = { unknown: [], short: [] };
    if (!lines.some((l) => this.shortages.has(l.sku))) return refusal;
    const read = await this.transaction.beforeCommit(m, `${S}.0-short-stock`, () => {
        const rows = readStock(m, this.shortages.current());
        rows.catch(() => undefined); // awaited by the events that need it; never an unhandled rejection
        return rows;
      },
      async () => undefined,
    );
    for (const { sku, quantity } of lines) {
      if (!read.skus.has(sku)) continue; // marked after the run's read: checked at commit
      const available = read.available.get(sku);
      if (available === undefined) refusal.unknown.push(sku);
      else if (available + (this.changes.get(sku)?.available ?? 0) < quantity) refusal.short.push(sku);
    }
    return refusal;
  }

  release(lines: { sku: string; quantity: number }[]): void {
    for (const { sku, quantity } of lines) this.add(sku, quantity, -quantity);
  }

  private add(sku: string, available: number, reserved: number): void {
    const change = this.changes.get(sku) ?? { available: 0, reserved: 0 };
    change.available += available;
    change.reserved += reserved;
    this.changes.set(sku, change);
  }
}

/** The stock of `skus` as of now, without locks; a SKU read but missing is not in `available`. */
async function readStock(m: EntityManager, skus: string[]): Promise<{ skus: Set<string>; available: Map<string, number> }> {
  const rows: { sku: string; available: number }[] = await m.query(`SELECT sku, available FROM "${S}".products WHERE sku = ANY($1::text[])`, [skus]);
  return { skus: new Set(skus), available: new Map(rows.map((r) => [r.sku, r.available])) };
}

async function write(m: EntityManager, changes: Map<string, Change>): Promise<void> {
  const skus = [...changes].filter(([, c]) => c.available !== 0 || c.reserved !== 0).map(([sku]) => sku);
  if (skus.length === 0) return;
  await m.query(`SELECT 1 FROM "${S}".products WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE`, [skus]);
  // TypeORM answers an UPDATE with [rows, affected count].
  const [written]: [{ sku: string }[], number] = await m.query(
    `UPDATE "${S}".products p
        SET available = p.available + d.available, reserved = p.reserved + d.reserved, updated_at = greatest(p.updated_at, now())
       FROM unnest($1::text[], $2::int[], $3::int[]) AS d(sku, available, reserved)
      WHERE p.sku = d.sku AND p.available + d.available >= 0 AND p.reserved + d.reserved >= 0
      RETURNING p.sku`,
    [skus, skus.map((s) => changes.get(s)!.available), skus.map((s) => changes.get(s)!.reserved)],
  );
  if (written.length !== skus.length) {
    const ok = new Set(written.map((r) => r.sku));
    throw new StockMovedError(skus.filter((s) => !ok.has(s)));
  }
}
