import { EntityManager } from 'typeorm';
import { BatchTransaction } from '../../platform/kafka/batch-transaction';
import { WAREHOUSE_SCHEMA as S } from './warehouse.schema';

interface Change {
  available: number;
  reserved: number;
}

/** At commit, a product is short (another transaction took its stock meanwhile) or unknown: the run is handled again event by event. */
export class StockMovedError extends Error {
  constructor(skus: string[]) {
    super(`stock of ${skus.join(', ')} changed under this transaction; handling its events one by one`);
  }
}

/** What a reservation could not take: SKUs the warehouse does not know, and SKUs without enough stock. */
export interface Refusal {
  unknown: string[];
  short: string[];
}

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
 * refused in the same way: a refusal seen in a run may be older than a restock.)
 */
export class StockLedger {
  private constructor(
    private readonly changes: Map<string, Change>,
    private readonly shared: boolean,
  ) {}

  static of(m: EntityManager): StockLedger {
    const transaction = BatchTransaction.current();
    if (!transaction) throw new Error('stock changes run inside Inbox.once (a consumer transaction)');
    const changes = transaction.beforeCommit(m, `${S}.1-stock`, () => new Map<string, Change>(), write);
    return new StockLedger(changes, transaction.shared);
  }

  /** Takes every line's stock, or none and says why. Lines name distinct SKUs. */
  async reserve(m: EntityManager, lines: { sku: string; quantity: number }[]): Promise<Refusal> {
    if (!this.shared) {
      const rows: { sku: string; available: number }[] = await m.query(
        `SELECT sku, available FROM "${S}".products WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE`,
        [lines.map((l) => l.sku)],
      );
      const found = new Map(rows.map((r) => [r.sku, r.available + (this.changes.get(r.sku)?.available ?? 0)]));
      const refusal = {
        unknown: lines.filter((l) => !found.has(l.sku)).map((l) => l.sku),
        short: lines.filter((l) => found.has(l.sku) && found.get(l.sku)! < l.quantity).map((l) => l.sku),
      };
      if (refusal.unknown.length > 0 || refusal.short.length > 0) return refusal;
    }
    for (const { sku, quantity } of lines) this.add(sku, -quantity, quantity);
    return { unknown: [], short: [] };
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
