import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EMAIL_SCHEMA as S } from '../email.schema';
import { MailKind, MailStatus } from '../sent-mail';

export interface SentMailView {
  eventId: string;
  messageId: string;
  orderId: string;
  kind: MailKind;
  recipient: string;
  subject: string;
  status: MailStatus;
  attempts: number;
  error: string | null;
  smtpResponse: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  sentAt: string | null;
}

interface SentMailRow {
  event_id: string;
  message_id: string;
  order_id: string;
  kind: MailKind;
  recipient: string;
  subject: string;
  status: MailStatus;
  attempts: number;
  error: string | null;
  smtp_response: string | null;
  next_attempt_at: Date;
  created_at: Date;
  sent_at: Date | null;
}

/** What the email module owes or sent for one order, in the order the events came. */
@Injectable()
export class ListSentMailsService {
  constructor(@InjectDataSource('email') private readonly dataSource: DataSource) {}

  async forOrder(orderId: string): Promise<SentMailView[]> {
    const rows: SentMailRow[] = await this.dataSource.query(
      `SELECT event_id, message_id, order_id, kind, recipient, subject, status, attempts, error, smtp_response,
              next_attempt_at, created_at, sent_at
       FROM "${S}".sent_mails WHERE order_id = $1 ORDER BY seq`,
      [orderId],
    );
    return rows.map((r) => ({
      eventId: r.event_id,
      messageId: r.message_id,
      orderId: r.order_id,
      kind: r.kind,
      recipient: r.recipient,
      subject: r.subject,
      status: r.status,
      attempts: r.attempts,
      error: r.error,
      smtpResponse: r.smtp_response,
      nextAttemptAt: r.status === 'QUEUED' ? r.next_attempt_at.toISOString() : null,
      createdAt: r.created_at.toISOString(),
      sentAt: r.sent_at?.toISOString() ?? null,
    }));
  }
}
