import { Injectable, Logger } from '@nestjs/common';
import { EventEnvelope, OrderLinePayload, OrderRejectionReason } from '../../../contracts';
import { BatchTransaction } from '../../../platform/kafka/batch-transaction';
import { Inbox } from '../../../platform/kafka/inbox';
import { AWAIT_PLACED_MAIL_MS, MailDeliveryService } from '../deliver-mail/mail-delivery.service';
import { EMAIL_SCHEMA as S } from '../email.schema';
import { MailTransport } from '../mail-transport';
import { MailKind, messageIdFor } from '../sent-mail';
import { renderOrderMail } from './order-mail.template';

/** The fields every order event carries that a mail needs. */
export interface OrderMailPayload {
  orderId: string;
  customerEmail: string;
  items: OrderLinePayload[];
  totalCents: number;
  reason?: OrderRejectionReason;
}

/** event_id, message_id, order_id, kind, recipient, subject, text_body, html_body, correlation_id */
export type MailRow = [string, string, string, MailKind, string, string, string, string, string];

/**
 * Queues mails in the order given (their `seq`: the delivery loop keeps each order's mails in it).
 * A later mail whose order has no placed mail, neither queued nor among these, is held for
 * AWAIT_PLACED_MAIL_MS: the delivery loop releases it once the placed mail is queued (ADR 0002).
 *
 * A confirmation whose order's cancellation mail is already queued or sent (or comes before it
 * among these) is not queued: `order.confirmed` consumed after `order.cancelled` (a retry, a
 * backlog on its topic) would tell a customer whose order is cancelled that it is confirmed.
 * Likewise a placed mail ("we will confirm shortly") once a later mail of its order has gone: its
 * event came after the wait for it ended (parked and redriven, or a backlog of over a minute).
 */
export async function insertMails(m: { query(sql: string, params: unknown[]): Promise<unknown> }, rows: MailRow[]): Promise<void> {
  await m.query(
    `INSERT INTO "${S}".sent_mails
       (event_id, message_id, order_id, kind, recipient, subject, text_body, html_body, correlation_id, status, held_until)
     SELECT e, mi, o, k, r, s, t, h, c, 'QUEUED',
            CASE WHEN k = 'ORDER_PLACED' OR placed_here
                      OR EXISTS (SELECT 1 FROM "${S}".sent_mails p WHERE p.order_id = o AND p.kind = 'ORDER_PLACED')
                 THEN NULL ELSE now() + ${AWAIT_PLACED_MAIL_MS} * interval '1 millisecond' END
       FROM (SELECT *, bool_or(k = 'ORDER_PLACED') OVER (PARTITION BY o) AS placed_here,
                    bool_or(k = 'ORDER_CANCELLED') OVER (PARTITION BY o ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS cancelled_before
               FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
                    WITH ORDINALITY AS x(e, mi, o, k, r, s, t, h, c, n)) x
      WHERE NOT (k = 'ORDER_CONFIRMED'
                 AND (coalesce(cancelled_before, false)
                      OR EXISTS (SELECT 1 FROM "${S}".sent_mails q WHERE q.order_id = o AND q.kind = 'ORDER_CANCELLED')))
        AND NOT (k = 'ORDER_PLACED'
                 AND EXISTS (SELECT 1 FROM "${S}".sent_mails q WHERE q.order_id = o AND q.kind <> 'ORDER_PLACED' AND q.status IN ('SENDING', 'SENT')))
      ORDER BY n
     ON CONFLICT (event_id) DO NOTHING`,
    Array.from({ length: 9 }, (_, i) => rows.map((row) => row[i])),
  );
}

/**
 * Turns an order event into the one mail it owes the customer: renders it and queues it in
 * `email.sent_mails` in the same transaction as the inbox entry, so a redelivered or duplicated
 * event queues (and so sends) nothing. Delivery happens beside the consumer (ADR 0002): an SMTP
 * outage never holds a partition or parks events in `email.dlq`.
 */
@Injectable()
export class QueueOrderMailService {
  static readonly HANDLER = 'email.order-mail';
  private readonly logger = new Logger(QueueOrderMailService.name);

  constructor(
    private readonly inbox: Inbox,
    private readonly transport: MailTransport,
    private readonly delivery: MailDeliveryService,
  ) {}

  async queue(kind: MailKind, envelope: EventEnvelope<OrderMailPayload>): Promise<void> {
    const p = envelope.payload;
    const mail = renderOrderMail(kind, { orderId: p.orderId, items: p.items, totalCents: p.totalCents, reason: p.reason });
    const messageId = messageIdFor(envelope.eventId, this.transport.from);
    const queued = await this.inbox.once(
      envelope,
      QueueOrderMailService.HANDLER,
      async (m) => {
        const row: MailRow = [envelope.eventId, messageId, p.orderId, kind, p.customerEmail, mail.subject, mail.text, mail.html, envelope.correlationId];
        // In a consumer run the mails of all its events are queued with one statement just before it commits.
        const run = BatchTransaction.sharedOn(m);
        if (run) run.beforeCommit(m, `${S}.1-mails`, () => [] as MailRow[], insertMails).push(row);
        else await insertMails(m, [row]);
      },
      // The row is visible to the delivery loop only once committed (with a consumer's batch).
      () => {
        this.logger.log(
          `queued ${kind} mail ${messageId} for order ${p.orderId} (event ${envelope.eventId}, correlation ${envelope.correlationId})`,
        );
        this.delivery.queued(p.orderId);
      },
      // It may have committed: a confirmation it held would wait out its minute unless released.
      () => this.delivery.queued(p.orderId),
    );
    if (!queued) {
      this.logger.debug(`${envelope.type} ${envelope.eventId} already handled: no second mail (correlation ${envelope.correlationId})`);
    }
  }
}
