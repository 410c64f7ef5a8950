import { MigrationInterface, QueryRunner } from 'typeorm';
import { EMAIL_SCHEMA as S } from '../email.schema';

/**
 * Attempts our own SMTP setup refused (login, TLS, a relay or sender refusal), kept apart from
 * `attempts`: they still lengthen the backoff, but no longer spend EMAIL_MAX_ATTEMPTS. A mail that
 * waited out three hours of a wrong password used to be given up on at its first transient failure
 * after the fix.
 */
export class EmailSetupRefusals1767000000000 implements MigrationInterface {
  name = 'EmailSetupRefusals1767000000000';

  async up(q: QueryRunner): Promise<void> {
    // A constant default: no rewrite of the table. The check is NOT VALID: Postgres would otherwise read
    // every mail ever sent (bodies included) under the lock this takes, holding up queueing and claims.
    // Every row has 0 now, which holds; new and updated rows are checked.
    await q.query(`ALTER TABLE "${S}".sent_mails ADD COLUMN setup_refusals int NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "${S}".sent_mails ADD CONSTRAINT sent_mails_setup_refusals_check CHECK (setup_refusals >= 0 AND setup_refusals <= attempts) NOT VALID`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "${S}".sent_mails DROP COLUMN setup_refusals`);
  }
}
