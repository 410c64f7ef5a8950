/** What each row of `email.sent_mails` is about and where it stands. */
export const MAIL_KINDS = ['ORDER_PLACED', 'ORDER_CONFIRMED', 'ORDER_REJECTED', 'ORDER_CANCELLED'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

/**
 * QUEUED: owed, waiting for its (next) attempt. SENDING: handed to SMTP, outcome not yet recorded.
 * SENT: the server accepted it. FAILED: refused for good, or out of attempts; never retried.
 */
export const MAIL_STATUSES = ['QUEUED', 'SENDING', 'SENT', 'FAILED'] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

/** A rendered mail, ready for any transport. */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** The Message-ID of the mail an event causes: the same on every attempt, so a receiver can dedupe. */
export function messageIdFor(eventId: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'shop.local';
  return `<${eventId}@${domain}>`;
}
