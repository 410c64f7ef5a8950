import { describeError } from '../../platform/kafka/errors';

export interface SmtpFailure {
  /** True when sending this mail again can never succeed (the server said no for good). */
  permanent: boolean;
  reason: string;
}

/** nodemailer's error codes that mean "the message or its address is wrong", never the network. */
const PERMANENT_CODES = new Set(['EENVELOPE', 'EMESSAGE']);
/** Our own configuration is wrong: every mail would fail the same way, so keep them owed, not failed. */
const CONFIGURATION_CODES = new Set(['EAUTH', 'ETLS', 'ENOAUTH', 'EOAUTH2']);

/**
 * Sorts a nodemailer failure into retry or give up. 5xx replies and rejected addresses are
 * permanent for that mail; 4xx replies, connection trouble and timeouts are transient. A 5xx to
 * AUTH or STARTTLS is ours to fix (credentials, TLS settings), so it is transient too: the mail
 * waits for the fix instead of being marked failed.
 */
export function classifySmtpFailure(error: unknown): SmtpFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; responseCode?: unknown; response?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const reply = typeof e.response === 'string' ? e.response : undefined;
  const reason = [describeError(error), reply && !describeError(error).includes(reply) ? `(${reply})` : undefined]
    .filter(Boolean)
    .join(' ');
  if (code && CONFIGURATION_CODES.has(code)) return { permanent: false, reason };
  if (responseCode !== undefined) return { permanent: responseCode >= 500 && responseCode < 600, reason };
  return { permanent: code !== undefined && PERMANENT_CODES.has(code), reason };
}
