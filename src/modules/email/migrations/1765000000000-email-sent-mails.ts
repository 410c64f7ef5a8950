import { MigrationInterface, QueryRunner } from 'typeorm';
import { EMAIL_SCHEMA as S } from '../email.schema';

/**
 * One row per mail the email module owes a customer, keyed by the event that caused it: the row is
 * the queue entry, the once-per-event guard and the audit log at the same time (ADR 0002).
 */
export class EmailSentMails1765000000000 implements MigrationInterface {
  name = 'EmailSentMails1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "${S}".sent_mails (
        event_id uuid PRIMARY KEY,
        seq bigserial NOT NULL UNIQUE,
        message_id text NOT NULL UNIQUE,
        order_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('ORDER_PLACED', 'ORDER_CONFIRMED', 'ORDER_REJECTED', 'ORDER_CANCELLED')),
        recipient text NOT NULL,
        subject text NOT NULL,
        text_body text NOT NULL,
        html_body text NOT NULL,
        correlation_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('QUEUED', 'SENDING', 'SENT', 'FAILED')),
        attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        error text,
        smtp_response text,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    // GET /emails?orderId= and the per-order ordering check of the delivery loop.
    await q.query(`CREATE INDEX sent_mails_order_idx ON "${S}".sent_mails (order_id, seq)`);
    // The delivery loop only ever looks at mails still owed.
    await q.query(`CREATE INDEX sent_mails_due_idx ON "${S}".sent_mails (seq) WHERE status IN ('QUEUED', 'SENDING')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "${S}".sent_mails`);
  }
}
