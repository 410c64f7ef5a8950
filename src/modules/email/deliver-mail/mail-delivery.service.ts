import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../../../platform/config/environment';
import { describeError } from '../../../platform/kafka/errors';
import { redactAddresses } from '../../../platform/observability/logging';
import { EMAIL_SCHEMA as S } from '../email.schema';
import { MailTransport } from '../mail-transport';
import { MailKind, MailStatus } from '../sent-mail';
import { classifySmtpFailure, givesUp } from '../smtp-failure';

interface ClaimedMail {
  event_id: string;
  message_id: string;
  order_id: string;
  kind: MailKind;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string;
  correlation_id: string;
  attempts: number;
  /** Of `attempts`, those our own SMTP setup refused: they do not count against EMAIL_MAX_ATTEMPTS. */
  setup_refusals: number;
  /** SENDING when a previous attempt was interrupted (crash) and its lease ran out. */
  was: MailStatus;
  /** Whether a later mail of the order is still owed: it becomes due once this one is recorded. */
  queued_behind: boolean;
}

/** Exponential backoff with ±20 % jitter, so mails queued together do not retry in lockstep. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** Where a mail stands in its order's life: the placed mail first, then the decision, then a cancellation. */
const rank = (alias: string) => `CASE ${alias}.kind WHEN 'ORDER_PLACED' THEN 0 WHEN 'ORDER_CANCELLED' THEN 2 ELSE 1 END`;

/**
 * How long a later mail of an order waits for its order's placed mail to be queued at all. The
 * events come on different topics, consumed side by side: after a backlog, "Your order is
 * confirmed" could otherwise go out before "We received your order". Such a mail is queued held
 * (`held_until`), out of the claim's index, and released when the placed mail is queued or the wait ends.
 */
export const AWAIT_PLACED_MAIL_MS = 60_000;

/**
 * The claim, in one statement. First it releases held mails: those whose wait for their placed mail
 * ended, and those of the orders $3 whose placed mail is queued now. It runs after the mails of $3
 * were committed: a placed mail and its order's confirmation queued by two transactions at once each
 * miss the other's row, so the confirmation is held, and only a statement that starts after both
 * commits sees that it need not be. What it releases is claimable from the next statement on
 * (`released` says how many).
 *
 * Then it takes the next mails due and not held, at most $2, each the first mail its order still
 * owes (in the order's life: placed, then confirmed or rejected, then cancelled; by queueing among
 * equals), and marks them SENDING with a lease of $1 ms. Its plan must not depend on the table's
 * statistics: a queue that grew faster than autovacuum analyzes it (a burst of orders) looks nearly
 * empty to the planner, which then materialized every owed mail and compared each candidate with all
 * of them (25 ms a claim at 20,000 owed, so a burst's mails went out at ~400/s). `OFFSET 0` keeps the
 * earlier-mail check a subplan, run for the few candidates the LIMIT takes, and "still owed" written
 * as NOT IN ('SENT', 'FAILED') keeps the partial index of owed mails out of it, so it probes the
 * order's own mails by (order_id, seq).
 *
 * One row per mail claimed, or a single row with a null event_id when none was.
 */
export function claimStatement(schema: string): string {
  // Two statements of their own, each down its own index: as one (a union joined back by event id) the
  // planner hashed the whole table, every mail ever sent, on every claim. The orders' holds are probed
  // order by order (LATERAL … OFFSET 0): left to the planner with statistics taken before a backlog,
  // it walked every held mail instead. A mail both of them match is updated by one only, to the same values.
  return `WITH expired AS (
       UPDATE "${schema}".sent_mails s SET held_until = NULL, updated_at = now()
       WHERE s.held_until <= now()
       RETURNING s.event_id),
     placed AS (
       UPDATE "${schema}".sent_mails s SET held_until = NULL, updated_at = now()
       FROM (SELECT h.event_id FROM unnest($3::uuid[]) AS o(id),
                    LATERAL (SELECT h.event_id FROM "${schema}".sent_mails h
                             WHERE h.order_id = o.id AND h.held_until IS NOT NULL
                               AND EXISTS (SELECT 1 FROM "${schema}".sent_mails p WHERE p.order_id = o.id AND p.kind = 'ORDER_PLACED')
                             OFFSET 0) h) r
       WHERE s.event_id = r.event_id AND s.held_until IS NOT NULL
       RETURNING s.event_id),
     due AS (
       SELECT m.event_id, m.status AS was FROM "${schema}".sent_mails m
       WHERE ((m.status = 'QUEUED' AND m.next_attempt_at <= now()) OR (m.status = 'SENDING' AND m.lease_until < now()))
         AND m.held_until IS NULL
         AND NOT EXISTS (SELECT 1 FROM "${schema}".sent_mails e
                         WHERE e.order_id = m.order_id AND e.event_id <> m.event_id AND e.status NOT IN ('SENT', 'FAILED')
                           AND (${rank('e')} < ${rank('m')} OR (${rank('e')} = ${rank('m')} AND e.seq < m.seq)
                                -- one of its order's mails in flight (a later one that stopped waiting for this one): never two at once
                                OR (e.status = 'SENDING' AND e.lease_until >= now())) OFFSET 0)
       ORDER BY m.seq LIMIT $2 FOR UPDATE OF m SKIP LOCKED),
     claimed AS (
       UPDATE "${schema}".sent_mails s
       SET status = 'SENDING', attempts = s.attempts + 1, lease_until = now() + $1 * interval '1 millisecond', updated_at = now()
       FROM due WHERE s.event_id = due.event_id
       RETURNING s.event_id, s.seq, s.message_id, s.order_id, s.kind, s.recipient, s.subject, s.text_body, s.html_body,
                 s.correlation_id, s.attempts, s.setup_refusals, due.was,
                 EXISTS (SELECT 1 FROM "${schema}".sent_mails l WHERE l.order_id = s.order_id AND l.event_id <> s.event_id AND l.status NOT IN ('SENT', 'FAILED')) AS queued_behind)
     SELECT c.event_id, c.message_id, c.order_id, c.kind, c.recipient, c.subject, c.text_body, c.html_body,
            c.correlation_id, c.attempts, c.setup_refusals, c.was, c.queued_behind, r.released
     FROM (SELECT ((SELECT count(*) FROM expired) + (SELECT count(*) FROM placed))::int AS released) r LEFT JOIN claimed c ON true
     ORDER BY c.seq`;
}

/**
 * Sends the mails queued in `email.sent_mails`, oldest first, up to EMAIL_DELIVERY_CONCURRENCY at
 * once and never two of one order at once, so an order's mails go out in the order's life (placed,
 * then the decision, then a cancellation), whatever order their events were consumed in (ADR 0002).
 * Each attempt is claimed (SENDING, committed) before SMTP sees it and recorded
 * (SENT / QUEUED with a backoff / FAILED) after, so a mail the server accepted is never sent
 * again, except when the process dies between the server's reply and that record (ADR 0002).
 * Several instances share the queue safely (SKIP LOCKED).
 */
@Injectable()
export class MailDeliveryService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Email');
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly maxAttempts: number;
  private readonly leaseMs: number;
  /** How long shutdown waits for the attempts in flight: an SMTP server sitting on a reply must not hold up the rest. */
  private readonly shutdownWaitMs: number;
  private readonly concurrency: number;
  /** Idle poll when nothing wakes the loop (another instance queued a mail, a lease ran out). */
  private readonly pollMs: number;
  private running = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private pendingWake = false;
  /** Orders whose mails were queued since the last release: a held mail among them may go now. */
  private queuedOrders = new Set<string>();
  /** Accepted by SMTP but not yet recorded (the database was away): recorded before anything else is sent. */
  private readonly unrecorded = new Map<string, string>();
  /**
   * Attempts that failed when the database could not take the failure: recorded with the accepted
   * ones, before anything else is claimed. Left SENDING they waited out their 20-minute lease, and
   * the later mails of their orders with them.
   */
  private readonly failuresUnrecorded = new Map<string, { mail: ClaimedMail; label: string; error: unknown }>();

  constructor(
    @InjectDataSource('email') private readonly dataSource: DataSource,
    private readonly transport: MailTransport,
    config: ConfigService<Environment, true>,
  ) {
    this.baseMs = config.get('EMAIL_RETRY_BASE_MS', { infer: true });
    this.maxMs = config.get('EMAIL_RETRY_MAX_MS', { infer: true });
    this.maxAttempts = config.get('EMAIL_MAX_ATTEMPTS', { infer: true });
    this.concurrency = config.get('EMAIL_DELIVERY_CONCURRENCY', { infer: true });
    this.pollMs = config.get('EMAIL_DELIVERY_POLL_MS', { infer: true });
    // Longer than an attempt with one slow reply (connecting, then a reply within SMTP_REPLY_TIMEOUT_MS),
    // so only an attempt whose process died, or stopped waiting at shutdown, is taken over (ADR 0002).
    this.shutdownWaitMs = Math.floor(config.get('SHUTDOWN_TIMEOUT_MS', { infer: true }) / 5);
    this.leaseMs = Math.max(10 * 60_000, 10 * config.get('SMTP_TIMEOUT_MS', { infer: true })) + config.get('SMTP_REPLY_TIMEOUT_MS', { infer: true });
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Finishes the attempt in flight while the database is still open, then records the mails the
   * server accepted that a database blip left unrecorded: the loop may have stopped while it waited
   * to try again, and a mail left SENDING is sent a second time once its lease runs out.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      this.loop?.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.shutdownWaitMs))),
    ]);
    clearTimeout(timer);
    if (stopped === false) {
      // Nest waits for this hook before it closes HTTP, consumers and outboxes: stop waiting.
      this.logger.warn(
        `stopping after ${this.shutdownWaitMs} ms (a fifth of SHUTDOWN_TIMEOUT_MS) with mail delivery still busy (an SMTP reply or the database): ` +
          'a mail still SENDING goes again, with the same Message-ID, once its lease runs out',
      );
    }
    await this.recordUnrecorded().catch((e: unknown) =>
      this.logger.warn(
        `${this.unrecorded.size} mail(s) the SMTP server accepted could not be recorded as sent; they go again, with the same Message-ID, when their lease runs out: ${describeError(e)}`,
      ),
    );
  }

  /** A mail of the order was queued (committed): release what it held, and look now. */
  queued(orderId: string): void {
    this.queuedOrders.add(orderId);
    this.wake();
  }

  /** A mail was queued or fell due: look now instead of at the next poll. */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.pendingWake = true;
  }

  private async run(): Promise<void> {
    let backoff = 500;
    while (this.running) {
      try {
        await this.recordUnrecorded();
        // A wake from here on may be for a mail the claim below does not see: look again then.
        this.pendingWake = false;
        const { claimed, more } = await this.deliverNext();
        if (claimed > 0) backoff = 500;
        // A short batch took every mail due when it claimed, but for those queued behind one of its
        // own (same order) and those waiting for their order's placed mail: unless it says so, the
        // loop waits for a wake instead of claiming nothing in one more statement. Nothing wakes it
        // when a mail's wait for its placed mail ends, so it looks at least that often.
        if (more) continue;
        await this.idle(Math.min(this.pollMs, AWAIT_PLACED_MAIL_MS));
      } catch (e) {
        this.logger.warn(`mail delivery paused ${backoff} ms: ${describeError(e)}`);
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /**
   * Claims the next mails due (one statement; at most one per order: a later mail of an order waits
   * for the earlier one to be SENT or FAILED), sends them at once and records the accepted ones
   * with one statement. Returns how many it claimed (0: none was due) and whether more may be due now
   * (a full batch, a mail queued behind one of this batch, or held mails the claim released).
   */
  async deliverNext(): Promise<{ claimed: number; more: boolean }> {
    const { mails, released } = await this.claim();
    if (mails.length === 0) return { claimed: 0, more: released > 0 };
    if (!this.running) {
      // Shutdown began while the claim ran: hand them back rather than start attempts nobody waits for
      // (one cut short stays SENDING for its lease, and may go twice).
      await this.unclaim(mails);
      return { claimed: 0, more: false };
    }
    const attempts = await Promise.allSettled(mails.map((mail) => this.attempt(mail)));
    // Also records the failures the database could not take in the attempts (they are rejected): it
    // throws, and the loop pauses, only while the database still cannot.
    await this.recordUnrecorded();
    for (const a of attempts) if (a.status === 'fulfilled' && a.value) this.logger.log(a.value);
    return { claimed: mails.length, more: released > 0 || mails.length === this.concurrency || mails.some((m) => m.queued_behind) };
  }

  /** Sends one claimed mail; the line to log once it is recorded as sent, or undefined when it was not accepted. */
  private async attempt(mail: ClaimedMail): Promise<string | undefined> {
    const label = `${mail.kind} mail ${mail.message_id} for order ${mail.order_id} (event ${mail.event_id}, correlation ${mail.correlation_id})`;
    if (mail.was === 'SENDING') {
      this.logger.warn(`resending ${label}: attempt ${mail.attempts - 1} was interrupted and may have been delivered (same Message-ID)`);
    }
    let response: string;
    try {
      response = await this.transport.send({
        to: mail.recipient,
        messageId: mail.message_id,
        subject: mail.subject,
        text: mail.text_body,
        html: mail.html_body,
      });
    } catch (e) {
      try {
        await this.recordFailure(mail, label, e);
      } catch (recording) {
        this.failuresUnrecorded.set(mail.event_id, { mail, label, error: e });
        throw recording;
      }
      return undefined;
    }
    this.unrecorded.set(mail.event_id, response);
    return `sent ${label} to the SMTP server on attempt ${mail.attempts}`;
  }

  /** Claims the next mails due, releasing held ones of the orders queued since the last claim (they are claimable next time). */
  private async claim(): Promise<{ mails: ClaimedMail[]; released: number }> {
    const orders = this.queuedOrders;
    this.queuedOrders = new Set();
    try {
      const rows: (ClaimedMail & { released: number })[] = await this.dataSource.query(claimStatement(S), [this.leaseMs, this.concurrency, [...orders]]);
      return { mails: rows.filter((r) => r.event_id !== null), released: rows[0].released };
    } catch (e) {
      for (const id of orders) this.queuedOrders.add(id);
      throw e;
    }
  }

  /** Puts claimed mails back as they were before the claim (due now, the attempt not spent), unless something took them since. */
  private async unclaim(mails: ClaimedMail[]): Promise<void> {
    await this.dataSource.query(
      `UPDATE "${S}".sent_mails s SET status = 'QUEUED', attempts = s.attempts - 1, lease_until = NULL, updated_at = now()
       FROM unnest($1::uuid[], $2::int[]) AS c(event_id, attempts)
       WHERE s.event_id = c.event_id AND s.status = 'SENDING' AND s.attempts = c.attempts`,
      [mails.map((m) => m.event_id), mails.map((m) => m.attempts)],
    );
    this.logger.log(`handed ${mails.length} mail(s) claimed as shutdown began back to the queue`);
  }

  /**
   * Records the failures the database could not take, then every accepted mail still only in
   * memory, with one statement; throws (and keeps them)
   * while the database is away. Whatever another instance recorded meanwhile (it took the mail over
   * when this attempt outlived its lease): the server accepted it, so it is SENT, and a mail SENT
   * already keeps its first record.
   */
  private async recordUnrecorded(): Promise<void> {
    for (const [eventId, { mail, label, error }] of this.failuresUnrecorded) {
      await this.recordFailure(mail, label, error);
      this.failuresUnrecorded.delete(eventId);
    }
    if (this.unrecorded.size === 0) return;
    const accepted = [...this.unrecorded];
    await this.dataSource.query(
      `UPDATE "${S}".sent_mails s
       SET status = 'SENT', sent_at = now(), updated_at = now(), smtp_response = d.response, error = NULL, lease_until = NULL
       FROM unnest($1::uuid[], $2::text[]) AS d(event_id, response)
       WHERE s.event_id = d.event_id AND s.status <> 'SENT'`,
      [accepted.map(([eventId]) => eventId), accepted.map(([, response]) => response.slice(0, 1000))],
    );
    for (const [eventId] of accepted) this.unrecorded.delete(eventId);
  }

  /**
   * Records a failed attempt: FAILED, or QUEUED with a backoff. Only while the mail is still this
   * attempt's (SENDING, with this attempt's number): an attempt that outlived its lease was taken
   * over, and its late outcome must not undo what the newer attempt recorded (a SENT turned back
   * into QUEUED went a third time).
   */
  private async recordFailure(mail: ClaimedMail, label: string, error: unknown): Promise<void> {
    const failure = classifySmtpFailure(error);
    const { permanent, reason } = failure;
    // Attempts our setup refused wait for the fix: they lengthen the backoff but spend no attempt.
    const refusals = mail.setup_refusals + (failure.configuration ? 1 : 0);
    const counted = mail.attempts - refusals;
    const ours = `event_id = $1 AND status = 'SENDING' AND attempts = $2`;
    if (givesUp(failure, counted, this.maxAttempts)) {
      const why = permanent ? reason : `gave up after ${counted} attempts: ${reason}`;
      const [, updated] = await this.dataSource.query<[unknown, number]>(
        `UPDATE "${S}".sent_mails SET status = 'FAILED', error = $3, lease_until = NULL, updated_at = now() WHERE ${ours}`,
        [mail.event_id, mail.attempts, why.slice(0, 2000)],
      );
      if (updated === 0) return this.takenOver(label, mail);
      this.logger.error(`${label} FAILED for good, not retried: ${redactAddresses(why, [mail.recipient])}`);
      return;
    }
    const delay = retryDelayMs(mail.attempts, this.baseMs, this.maxMs);
    const [, updated] = await this.dataSource.query<[unknown, number]>(
      `UPDATE "${S}".sent_mails
       SET status = 'QUEUED', error = $3, next_attempt_at = now() + $4 * interval '1 millisecond', lease_until = NULL, updated_at = now(),
           setup_refusals = $5
       WHERE ${ours}`,
      [mail.event_id, mail.attempts, reason.slice(0, 2000), delay, refusals],
    );
    if (updated === 0) return this.takenOver(label, mail);
    const attempt = failure.configuration ? `attempt ${mail.attempts}, the SMTP setup refused: kept until it is fixed` : `attempt ${counted}/${this.maxAttempts}`;
    this.logger.warn(`${label} not sent (${attempt}), retrying in ${delay} ms: ${redactAddresses(reason, [mail.recipient])}`);
    setTimeout(() => this.wake(), delay).unref();
  }

  private takenOver(label: string, mail: ClaimedMail): void {
    this.logger.warn(`${label}: attempt ${mail.attempts} failed after its lease ran out and another attempt took the mail over; its outcome stands`);
  }

  private idle(ms: number): Promise<void> {
    if (this.pendingWake || !this.running) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wakeUp = finish;
    });
  }
}
