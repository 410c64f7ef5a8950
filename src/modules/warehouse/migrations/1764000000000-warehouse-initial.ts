import { MigrationInterface, QueryRunner } from 'typeorm';
import { createMessagingTables, dropMessagingTables } from '../../../platform/database/messaging-tables';
import { WAREHOUSE_SCHEMA as S } from '../warehouse.schema';

export class WarehouseInitial1764000000000 implements MigrationInterface {
  name = 'WarehouseInitial1764000000000';

  async up(q: QueryRunner): Promise<void> {
    // Stock can never go negative, whatever the code does: the database refuses it.
    await q.query(`
      CREATE TABLE "${S}".products (
        sku text PRIMARY KEY,
        name text NOT NULL,
        price_cents int NOT NULL CHECK (price_cents >= 0),
        available int NOT NULL CHECK (available >= 0),
        reserved int NOT NULL DEFAULT 0 CHECK (reserved >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "${S}".reservations (
        order_id uuid PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('RESERVED', 'REJECTED', 'RELEASED', 'CLOSED')),
        items jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await createMessagingTables(q, S);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropMessagingTables(q, S);
    await q.query(`DROP TABLE IF EXISTS "${S}".reservations`);
    await q.query(`DROP TABLE IF EXISTS "${S}".products`);
  }
}
