import { EntityManager } from 'typeorm';
import { BatchTransaction } from '../../platform/kafka/batch-transaction';
import { WAREHOUSE_SCHEMA as S } from './warehouse.schema';

interface Change {
  available: number;
  reserved: number;
}

/** At commit, stock another transaction took meanwhile leaves a product short: the run is handled again event by event. */
export class StockMovedError extends Error {
  constructor(skus: string[]) {
    super(`stock of ${skus.join(', ')} changed under this transaction; handling its events one by one`);
  }
}

/**
 * The stock changes of one consumer transaction, written to `products` once, just before it
 * commits: the product rows are the warehouse's hottest (a run of a hundred orders touches most
 * SKUs), and locking them event by event made concurrent partitions' runs wait on each other until
 * the lock timeout threw them back to one transaction per event.
 *
 * Handling one event alone, the rows are locked when read (SKU order), so the decision is final.
 * In a shared run they are read without locks and the decision is checked at commit: the rows are
 * locked in SKU order, and an update that would take `available` or `reserved` below zero (another
 * run reserved the same stock meanwhile) fails the run, whose events are then handled one by one.
 */
export class StockLedger {
  private constructor(
    private readonly changes: Map<string, Change>,
    /** Shared run only: stock as first read by this transaction (checked again at commit anyway). */
    private readonly seen: Map<string, number> | undefined,
  ) {}

  static of(m: EntityManager): StockLedger {
    const transaction = BatchTransaction.current();
    if (!transaction) throw new Error('stock changes run inside Inbox.once (a consumer transaction)');
    const state = transaction.beforeCommit(
      m,
      `${S}.1-stock`,
      () => ({ changes: new Map<string, Change>(), seen: new Map<string, number>() }),
      (tx, { changes }) => write(tx, changes),
    );
    return new StockLedger(state.changes, transaction.shared ? state.seen : undefined);
  }

  /** Available stock of each known SKU, as this transaction will leave it. */
  async available(m: EntityManager, skus: string[]): Promise<Map<string, number>> {
    const known = this.seen ?? new Map<string, number>();
    const unread = skus.filter((sku) => !known.has(sku));
    if (unread.length > 0) {
      const rows: { sku: string; available: number }[] = await m.query(
        `SELECT sku, available FROM "${S}".products WHERE sku = ANY($1::text[]) ORDER BY sku${this.seen ? '' : ' FOR UPDATE'}`,
        [unread],
      );
      for (const r of rows) known.set(r.sku, r.available);
    }
    return new Map(skus.filter((sku) => known.has(sku)).map((sku) => [sku, known.get(sku)! + (this.changes.get(sku)?.available ?? 0)]));
  }

  /**
   * A refusal (unknown SKU, not enough stock) is only final when the rows were read under lock: in a
   * shared run the stock seen may be older than a restock, so this throws and the run's events are
   * handled one by one, where the refusal is decided on locked, current rows.
   */
  confirmRefusal(skus: string[]): void {
    if (this.seen) throw new StockMovedError(skus);
  }

  reserve(lines: { sku: string; quantity: number }[]): void {
    for (const { sku, quantity } of lines) this.add(sku, -quantity, quantity);
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
        SET available = p.available + d.available, reserved = p.reserved + d.reserved, updated_at = now()
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
