import { MigrationInterface, QueryRunner } from 'typeorm';
import { EMAIL_SCHEMA as S } from '../email.schema';

/**
 * A later mail of an order queued before the order's placed mail is held (`held_until`: when it
 * stops waiting for it) and kept out of the index the delivery loop claims from. The claim used to
 * find such mails in that index and skip them one by one, every time: 34 ms a claim with 20,000
 * confirmations consumed ahead of their placed events (a backlog; ADR 0002; `npm run bench:email-claim`).
 * During a rolling deploy the instances not yet upgraded claim without an index (theirs is gone)
 * until they are: upgrade them together, or expect slower mail for that while.
 */
export class EmailHeldMails1766000000000 implements MigrationInterface {
  name = 'EmailHeldMails1766000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "${S}".sent_mails ADD COLUMN held_until timestamptz`);
    // The mails the claim skipped until now are held for what is left of their minute.
    await q.query(`
      UPDATE "${S}".sent_mails m SET held_until = m.created_at + interval '60 seconds'
      WHERE m.status = 'QUEUED' AND m.kind <> 'ORDER_PLACED' AND m.created_at > now() - interval '60 seconds'
        AND NOT EXISTS (SELECT 1 FROM "${S}".sent_mails p WHERE p.order_id = m.order_id AND p.kind = 'ORDER_PLACED')`);
    await q.query(`DROP INDEX "${S}".sent_mails_due_idx`);
    await q.query(`CREATE INDEX sent_mails_due_idx ON "${S}".sent_mails (seq) WHERE status IN ('QUEUED', 'SENDING') AND held_until IS NULL`);
    // Holds that run out, found without reading the rest.
    await q.query(`CREATE INDEX sent_mails_held_idx ON "${S}".sent_mails (held_until) WHERE held_until IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "${S}".sent_mails_held_idx`);
    await q.query(`DROP INDEX "${S}".sent_mails_due_idx`);
    await q.query(`CREATE INDEX sent_mails_due_idx ON "${S}".sent_mails (seq) WHERE status IN ('QUEUED', 'SENDING')`);
    await q.query(`ALTER TABLE "${S}".sent_mails DROP COLUMN held_until`);
  }
}
