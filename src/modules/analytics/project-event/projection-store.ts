import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { OrderLinePayload, ProductUpsertedPayload } from '../../../contracts';
import { BatchTransaction } from '../../../platform/kafka/batch-transaction';
import { ANALYTICS_SCHEMA as S } from '../analytics.schema';
import { BUCKET_FIELDS, BucketField, Delta } from '../projections/contributions';
import { decisionOf, emptyFact, OrderFact } from '../projections/order-fact';

interface FactRow {
  order_id: string;
  placed_at: Date | null;
  total_cents: string | null;
  items: OrderLinePayload[] | null;
  placed_seen_at: Date | null;
  confirmed_at: Date | null;
  rejected_at: Date | null;
  rejection_reason: string | null;
  cancelled_at: Date | null;
  cancelled_from: 'PENDING' | 'CONFIRMED' | null;
  reserved_at: Date | null;
  stock_rejected_at: Date | null;
  stock_rejection_reason: string | null;
  released_at: Date | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toFact(row: FactRow): OrderFact {
  return {
    ...emptyFact(row.order_id),
    placedAt: iso(row.placed_at),
    totalCents: row.total_cents === null ? null : Number(row.total_cents),
    items: row.items,
    placedSeenAt: iso(row.placed_seen_at),
    confirmedAt: iso(row.confirmed_at),
    rejectedAt: iso(row.rejected_at),
    rejectionReason: row.rejection_reason,
    cancelledAt: iso(row.cancelled_at),
    cancelledFrom: row.cancelled_from,
    reservedAt: iso(row.reserved_at),
    stockRejectedAt: iso(row.stock_rejected_at),
    stockRejectionReason: row.stock_rejection_reason,
    releasedAt: iso(row.released_at),
  };
}

/** Registers work for the end of the caller's transaction (see BatchTransaction.beforeCommit). */
function atCommit<T>(m: EntityManager, key: string, create: () => T, flush: (m: EntityManager, state: T) => Promise<void>): T {
  const transaction = BatchTransaction.current();
  if (!transaction) throw new Error('analytics projections run inside Inbox.once (a consumer transaction)');
  return transaction.beforeCommit(m, key, create, flush);
}

/** What a projection transaction writes at its end: the facts it changed, its counters' deltas, and the version it commits as. */
interface Pending {
  facts: Map<string, OrderFact>;
  deltas: Delta[];
  committed: { version: number };
}

/**
 * The SQL behind the projections. A transaction locks the facts of its orders as it goes (in id
 * order when a run reads them together); everything it changed is written just before it commits,
 * with one statement: the facts, the counters (minute buckets, product sales, totals, each table's
 * rows in key order) and the version. Every transaction sends that same statement, so they take the
 * shared rows in one order and never deadlock on them.
 */
@Injectable()
export class ProjectionStore {
  /**
   * Loads the order's fact for update (creating an empty one), so events of one order serialize:
   * none when this transaction already holds the fact; in a consumer run, one statement on first
   * use for the orders of every event of the run (the messages' keys), in id order; else one.
   */
  async lockFact(m: EntityManager, orderId: string): Promise<OrderFact> {
    // Postgres' text form of a uuid, the key facts are kept under (an event may spell it in capitals).
    const id = orderId.toLowerCase();
    const pending = this.pending(m).facts.get(id);
    if (pending) return { ...pending };
    const ofRun = await BatchTransaction.sharedOn(m)
      ?.readForKeys(m, `${S}.0-facts-read`, id, async (ids) => new Map((await this.lockRows(m, ids)).map((r) => [r.order_id, toFact(r)])))
      ?.then((facts) => facts.get(id));
    if (ofRun) return { ...ofRun };
    const [row] = await this.lockRows(m, [id]);
    return toFact(row);
  }

  /** Locks (creating empty ones) and returns the facts of these orders, in id order: concurrent runs never deadlock on them. */
  private lockRows(m: EntityManager, orderIds: string[]): Promise<FactRow[]> {
    return m.query(
      `INSERT INTO "${S}".order_facts (order_id) SELECT id FROM unnest($1::uuid[]) AS id ORDER BY id
       ON CONFLICT (order_id) DO UPDATE SET order_id = excluded.order_id RETURNING *`,
      [orderIds],
    );
  }

  /** Keeps the fact for this transaction's end (the row is locked already, by lockFact). */
  saveFact(m: EntityManager, f: OrderFact): void {
    this.pending(m).facts.set(f.orderId, f);
  }

  /**
   * Adds the deltas to their counters when the transaction commits, summed with those of every
   * other event in it: the counters are the hottest rows (every event of every partition touches
   * the totals), so they are written once per transaction and locked only at its end.
   */
  addDeltas(m: EntityManager, deltas: Delta[]): void {
    if (deltas.length > 0) this.pending(m).deltas.push(...deltas);
  }

  /** The projection version this transaction commits as, set just before its commit. Read it after the commit. */
  versionAtCommit(m: EntityManager): { version: number } {
    return this.pending(m).committed;
  }

  private pending(m: EntityManager): Pending {
    return atCommit(m, `${S}.1-writes`, () => ({ facts: new Map(), deltas: [], committed: { version: 0 } }), (tx, p) => this.write(tx, p));
  }

  /**
   * The transaction's writes in one statement (one parse and plan where a run took three): the facts,
   * the counters, each row once and in key order, and the version bump, which every projection
   * transaction makes and which holds its row until the commit, so versions follow commit order.
   */
  private async write(m: EntityManager, { facts, deltas, committed }: Pending): Promise<void> {
    const [minuteRows, productRows, totalRows] = sumDeltas(deltas);
    const [row]: { version: string }[] = await m.query(
      `WITH facts AS (
         UPDATE "${S}".order_facts f SET placed_at = d.placed_at, total_cents = d.total_cents, items = d.items,
           placed_seen_at = d.placed_seen_at, confirmed_at = d.confirmed_at, rejected_at = d.rejected_at,
           rejection_reason = d.rejection_reason, cancelled_at = d.cancelled_at, cancelled_from = d.cancelled_from,
           reserved_at = d.reserved_at, stock_rejected_at = d.stock_rejected_at, stock_rejection_reason = d.stock_rejection_reason,
           released_at = d.released_at, decided_at = d.decided_at, latency_ms = d.latency_ms, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS d(order_id uuid, placed_at timestamptz, total_cents bigint, items jsonb,
           placed_seen_at timestamptz, confirmed_at timestamptz, rejected_at timestamptz, rejection_reason text,
           cancelled_at timestamptz, cancelled_from text, reserved_at timestamptz, stock_rejected_at timestamptz,
           stock_rejection_reason text, released_at timestamptz, decided_at timestamptz, latency_ms integer)
         WHERE f.order_id = d.order_id
       ), minutes AS (
         INSERT INTO "${S}".minute_buckets AS b (minute, ${BUCKET_FIELDS.join(', ')})
         SELECT * FROM unnest($2::timestamptz[], $3::int[], $4::int[], $5::int[], $6::int[], $7::bigint[])
         ON CONFLICT (minute) DO UPDATE SET ${BUCKET_FIELDS.map((f) => `${f} = b.${f} + excluded.${f}`).join(', ')}
       ), products AS (
         INSERT INTO "${S}".product_sales AS s (sku, units, revenue_cents)
         SELECT * FROM unnest($8::text[], $9::bigint[], $10::bigint[])
         ON CONFLICT (sku) DO UPDATE SET units = s.units + excluded.units, revenue_cents = s.revenue_cents + excluded.revenue_cents
       ), totals AS (
         INSERT INTO "${S}".totals AS t (metric, value) SELECT * FROM unnest($11::text[], $12::bigint[])
         ON CONFLICT (metric) DO UPDATE SET value = t.value + excluded.value
       ), bumped AS (
         UPDATE "${S}".projection_state SET version = version + 1 WHERE id = 1 RETURNING version
       )
       SELECT version FROM bumped`,
      [
        JSON.stringify([...facts.values()].map(factRow)),
        minuteRows.map(([minute]) => minute),
        ...BUCKET_FIELDS.map((f) => minuteRows.map(([, r]) => r[f])),
        productRows.map(([sku]) => sku),
        productRows.map(([, r]) => r.units),
        productRows.map(([, r]) => r.revenue_cents),
        totalRows.map(([metric]) => metric),
        totalRows.map(([, v]) => v),
      ],
    );
    committed.version = Number(row.version);
  }

  /** Keeps the newest state of a product (by its updatedAt), whatever order the upserts arrive in. */
  async upsertProduct(m: EntityManager, p: ProductUpsertedPayload): Promise<void> {
    await m.query(
      `INSERT INTO "${S}".products AS p (sku, name, price_cents, available, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents,
         available = excluded.available, updated_at = excluded.updated_at
       WHERE excluded.updated_at > p.updated_at`,
      [p.sku, p.name, p.priceCents, p.available, p.updatedAt],
    );
  }

}

/** A fact as the write's `jsonb_to_recordset` reads it. */
function factRow(f: OrderFact) {
  const decision = decisionOf(f);
  return {
    order_id: f.orderId,
    placed_at: f.placedAt,
    total_cents: f.totalCents,
    items: f.items,
    placed_seen_at: f.placedSeenAt,
    confirmed_at: f.confirmedAt,
    rejected_at: f.rejectedAt,
    rejection_reason: f.rejectionReason,
    cancelled_at: f.cancelledAt,
    cancelled_from: f.cancelledFrom,
    reserved_at: f.reservedAt,
    stock_rejected_at: f.stockRejectedAt,
    stock_rejection_reason: f.stockRejectionReason,
    released_at: f.releasedAt,
    decided_at: decision?.decidedAt ?? null,
    latency_ms: decision?.latencyMs ?? null,
  };
}

/** The deltas summed per counter row, each table's rows in key order (minutes, products, totals). */
function sumDeltas(deltas: Delta[]) {
  const minutes = new Map<string, Record<BucketField, number>>();
  const products = new Map<string, { units: number; revenue_cents: number }>();
  const totals = new Map<string, number>();
  for (const { counter: c, amount } of deltas) {
    if (c.kind === 'minute') {
      const row = minutes.get(c.minute) ?? { placed: 0, confirmed: 0, rejected: 0, cancelled: 0, revenue_cents: 0 };
      row[c.field] += amount;
      minutes.set(c.minute, row);
    } else if (c.kind === 'product') {
      const row = products.get(c.sku) ?? { units: 0, revenue_cents: 0 };
      row[c.field] += amount;
      products.set(c.sku, row);
    } else {
      totals.set(c.metric, (totals.get(c.metric) ?? 0) + amount);
    }
  }
  const sorted = <V>(map: Map<string, V>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [sorted(minutes), sorted(products), sorted(totals)] as const;
}
