import { MigrationInterface, QueryRunner } from 'typeorm';
import { createMessagingTables, dropMessagingTables } from '../../../platform/database/messaging-tables';
import { ORDER_SCHEMA as S } from '../order.schema';

export class OrderInitial1764000000000 implements MigrationInterface {
  name = 'OrderInitial1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "${S}".orders (
        id uuid PRIMARY KEY,
        customer_email text NOT NULL,
        status text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED')),
        total_cents bigint NOT NULL CHECK (total_cents >= 0),
        rejection_reason text,
        correlation_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Keyset paging (newest first, optionally by status) and the reservation-timeout sweep.
    await q.query(`CREATE INDEX orders_created_idx ON "${S}".orders (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX orders_status_created_idx ON "${S}".orders (status, created_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE "${S}".order_lines (
        order_id uuid NOT NULL REFERENCES "${S}".orders(id) ON DELETE CASCADE,
        sku text NOT NULL,
        quantity int NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
        unit_price_cents int NOT NULL CHECK (unit_price_cents >= 0),
        PRIMARY KEY (order_id, sku)
      )`);
    await q.query(`
      CREATE TABLE "${S}".order_status_history (
        id bigserial PRIMARY KEY,
        order_id uuid NOT NULL REFERENCES "${S}".orders(id) ON DELETE CASCADE,
        status text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        event_id uuid,
        correlation_id text NOT NULL,
        reason text
      )`);
    await q.query(`CREATE INDEX order_status_history_order_idx ON "${S}".order_status_history (order_id, id)`);
    await q.query(`
      CREATE TABLE "${S}".catalogue (
        sku text PRIMARY KEY,
        name text NOT NULL,
        price_cents int NOT NULL CHECK (price_cents >= 0),
        updated_at timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE "${S}".idempotency_keys (
        key text PRIMARY KEY,
        request_hash text NOT NULL,
        status_code int NOT NULL,
        response jsonb NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX idempotency_keys_expires_idx ON "${S}".idempotency_keys (expires_at)`);
    await createMessagingTables(q, S);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropMessagingTables(q, S);
    for (const t of ['idempotency_keys', 'catalogue', 'order_status_history', 'order_lines', 'orders']) {
      await q.query(`DROP TABLE IF EXISTS "${S}".${t}`);
    }
  }
}
