import { MigrationInterface, QueryRunner } from 'typeorm';
import { ORDER_SCHEMA as S } from '../order.schema';

/**
 * What the expiry sweep learns each time it runs: every order created before `published_before`
 * had its `order.placed` published by `sampled_at`. The reservation timeout runs from then, not
 * from the order's creation, so a broker outage longer than the timeout no longer rejects the
 * orders accepted during it before the warehouse ever saw them.
 */
export class OrderPublishMarks1766000000000 implements MigrationInterface {
  name = 'OrderPublishMarks1766000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "${S}".placed_publish_marks (
        sampled_at timestamptz PRIMARY KEY,
        published_before timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${S}".placed_publish_marks`);
  }
}
