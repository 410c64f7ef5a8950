import { MigrationInterface, QueryRunner } from 'typeorm';
import { ANALYTICS_SCHEMA as S } from '../analytics.schema';

/** The read models: per-order facts, the counters derived from them, products, and the projection version. */
export class AnalyticsProjections1764100000000 implements MigrationInterface {
  name = 'AnalyticsProjections1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "${S}".order_facts (
        order_id uuid PRIMARY KEY,
        placed_at timestamptz,
        total_cents bigint,
        items jsonb,
        placed_seen_at timestamptz,
        confirmed_at timestamptz,
        rejected_at timestamptz,
        rejection_reason text,
        cancelled_at timestamptz,
        cancelled_from text,
        reserved_at timestamptz,
        stock_rejected_at timestamptz,
        stock_rejection_reason text,
        released_at timestamptz,
        decided_at timestamptz,
        latency_ms integer,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The latest orders (feed) and latency percentiles over a time range, without a full scan.
    await q.query(`CREATE INDEX order_facts_placed_idx ON "${S}".order_facts (placed_at DESC) WHERE placed_at IS NOT NULL`);
    await q.query(
      `CREATE INDEX order_facts_decided_idx ON "${S}".order_facts (decided_at) INCLUDE (latency_ms) WHERE decided_at IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE "${S}".totals (
        metric text PRIMARY KEY,
        value bigint NOT NULL
      )`);
    await q.query(`
      CREATE TABLE "${S}".minute_buckets (
        minute timestamptz PRIMARY KEY,
        placed integer NOT NULL DEFAULT 0,
        confirmed integer NOT NULL DEFAULT 0,
        rejected integer NOT NULL DEFAULT 0,
        cancelled integer NOT NULL DEFAULT 0,
        revenue_cents bigint NOT NULL DEFAULT 0
      )`);
    await q.query(`
      CREATE TABLE "${S}".product_sales (
        sku text PRIMARY KEY,
        units bigint NOT NULL DEFAULT 0,
        revenue_cents bigint NOT NULL DEFAULT 0
      )`);
    await q.query(`CREATE INDEX product_sales_units_idx ON "${S}".product_sales (units DESC, sku)`);
    await q.query(`CREATE INDEX product_sales_revenue_idx ON "${S}".product_sales (revenue_cents DESC, sku)`);
    await q.query(`
      CREATE TABLE "${S}".products (
        sku text PRIMARY KEY,
        name text NOT NULL,
        price_cents integer NOT NULL,
        available integer NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    // One row, bumped last in every projection transaction: its value orders commits, so a snapshot
    // read with version V holds exactly the changes 1..V (the live stream's watermark).
    await q.query(`
      CREATE TABLE "${S}".projection_state (
        id smallint PRIMARY KEY CHECK (id = 1),
        version bigint NOT NULL
      )`);
    await q.query(`INSERT INTO "${S}".projection_state (id, version) VALUES (1, 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['projection_state', 'products', 'product_sales', 'minute_buckets', 'totals', 'order_facts']) {
      await q.query(`DROP TABLE IF EXISTS "${S}".${t}`);
    }
  }
}

