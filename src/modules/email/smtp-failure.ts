import { describeError } from '../../platform/kafka/errors';

export interface SmtpFailure {
  /** True when sending this mail again can never succeed (the server said no for good). */
  permanent: boolean;
  /**
   * Our own setup is wrong (credentials, TLS, a sender the server refuses): every mail fails the same
   * way until someone fixes it, so mails wait for the fix however many attempts that takes.
   */
  configuration: boolean;
  reason: string;
}

/** nodemailer's error codes that mean "the message or its address is wrong", never the network. */
const PERMANENT_CODES = new Set(['EENVELOPE', 'EMESSAGE']);
/** Our own configuration is wrong (login, TLS): every mail would fail the same way, so keep them owed, not failed. */
const CONFIGURATION_CODES = new Set(['EAUTH', 'ETLS', 'ENOAUTH', 'EOAUTH2']);
/** nodemailer's `command` for a reply before MAIL FROM: the connection's greeting and the hello. */
const BEFORE_ANY_MAIL = new Set(['CONN', 'EHLO', 'HELO', 'LHLO']);

/**
 * Enhanced status codes (RFC 3463, IANA's registry), right after the reply code, that blame the
 * sending side whatever command they answer: authentication refused (x.7.8, x.7.9), encryption
 * required (x.7.11), SPF, reverse DNS, DMARC (x.7.23, x.7.25, x.7.26) and a sender domain that takes
 * no mail (x.7.27). Not x.7.0, the generic security code ("552 5.7.0 … a potential security issue"
 * is about the mail): only its words tell.
 */
const SENDER_STATUS = /^\d{3}[ -][45]\.7\.(?:8|9|11|23|25|26|27)\b/m;

/**
 * The words relays refuse our host or sender with. Postfix says them at RCPT TO by default
 * (smtpd_delay_reject=yes), not at the greeting: "554 5.7.1 <a@b>: Relay access denied",
 * "554 5.7.1 <host[ip]>: Client host rejected", "553 5.7.1 <from>: Sender address rejected".
 * x.7.1 alone also means "this recipient refuses this mail", which is the mail's fault.
 */
const SENDER_REFUSED = /relay(?:ing)? (?:access )?(?:denied|not permitted)|client host (?:\[[^\]]*\] )?(?:is )?(?:rejected|blocked|blacklisted)|sender address rejected|authentication (?:is )?required|must (?:be )?authenticat/i;

/**
 * Sorts a nodemailer failure into retry or give up. 5xx replies and rejected addresses are
 * permanent for that mail; 4xx replies, connection trouble and timeouts are transient. A refusal
 * of our login or TLS, a 530 (authentication required), a refused sender (MAIL FROM: always
 * SMTP_FROM), a 5xx to the greeting or EHLO (our host turned away: an allowlist) and a reply at any
 * later step that blames the sender (a relay refused, our host or sender rejected, authentication
 * or TLS required, SPF or DMARC) are ours to fix, so the mail waits for the fix instead of being
 * marked failed.
 */
export function classifySmtpFailure(error: unknown): SmtpFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; responseCode?: unknown; response?: unknown; command?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const reply = typeof e.response === 'string' ? e.response : undefined;
  const reason = [describeError(error), reply && !describeError(error).includes(reply) ? `(${reply})` : undefined]
    .filter(Boolean)
    .join(' ');
  const senderRefused = code === 'EENVELOPE' && e.command === 'MAIL FROM';
  // Refused before any mail was named (the greeting, EHLO): the server turns our host away, not this mail.
  const clientRefused = typeof e.command === 'string' && BEFORE_ANY_MAIL.has(e.command.toUpperCase()) && responseCode !== undefined && responseCode >= 500;
  // The same refusals given later, at RCPT TO or DATA, said in their status code or their words.
  // The words are read without what the server echoes (`<address>`, quoted parts): a customer's
  // address such as `"relay access denied"@example.com` must not make its own refusal look like ours.
  const setupBlamed =
    responseCode !== undefined && responseCode >= 400 && reply !== undefined && (SENDER_STATUS.test(reply) || SENDER_REFUSED.test(reply.replace(/<[^>]*>|"[^"]*"/g, '')));
  if ((code && CONFIGURATION_CODES.has(code)) || responseCode === 530 || senderRefused || clientRefused || setupBlamed) {
    return { permanent: false, configuration: true, reason };
  }
  if (responseCode !== undefined) return { permanent: responseCode >= 500 && responseCode < 600, configuration: false, reason };
  return { permanent: code !== undefined && PERMANENT_CODES.has(code), configuration: false, reason };
}

/** Whether a failed mail is given up: refused for good, or out of attempts (never for our own setup's faults). */
export function givesUp(failure: SmtpFailure, attempts: number, maxAttempts: number): boolean {
  return failure.permanent || (!failure.configuration && attempts >= maxAttempts);
}
