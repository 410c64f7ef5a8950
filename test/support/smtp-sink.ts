import { AddressInfo } from 'node:net';
import { ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** What the sink answers to one RCPT TO: accept, or an SMTP reply code (4xx try later, 5xx never). */
export type SinkVerdict = 'accept' | { code: number; message: string };

export interface SmtpSink {
  /** `smtp://user:secret@127.0.0.1:<port>` for the app's SMTP_URL. */
  url: string;
  port: number;
  /** Every mail accepted so far, parsed. */
  mails: ParsedMail[];
  /** Attempts per recipient, accepted or not. */
  attempts: Map<string, number>;
  mailsTo(address: string): ParsedMail[];
  /**
   * Decides per recipient and attempt (1-based) what the sink answers; default accepts everything.
   * A promise holds the reply to RCPT TO until it settles (something to do while the client waits).
   */
  answer(verdict: (recipient: string, attempt: number) => SinkVerdict | Promise<SinkVerdict>): void;
  /** Decides per MAIL FROM (1-based, over all mails) what the sink answers to the sender; default accepts. */
  answerSender(verdict: (attempt: number) => SinkVerdict): void;
  /**
   * Holds each mail's DATA this long before accepting it (a slow server); 0 answers at once. A
   * function decides per recipient and attempt (the mail is kept either way, as a real server that
   * queued it before answering late would).
   */
  hold(ms: number | ((recipient: string, attempt: number) => number)): void;
  /** Decides per connection (1-based, counted from this call) what the greeting is; default the usual 220. */
  answerConnect(verdict: (attempt: number) => SinkVerdict): void;
  /** The most mails in DATA at the same moment so far: over all recipients, and per recipient. */
  maxInFlight: { all: number; byRecipient: Map<string, number> };
  /** Stops listening (the SMTP server is down); `start()` listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const SINK_USER = 'shop';
export const SINK_PASSWORD = 'sink-secret-123';

/** A real SMTP server on 127.0.0.1 and a random port that parses and keeps what it accepts. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: ParsedMail[] = [];
  const attempts = new Map<string, number>();
  let verdict: (recipient: string, attempt: number) => SinkVerdict | Promise<SinkVerdict> = () => 'accept';
  let senderVerdict: (attempt: number) => SinkVerdict = () => 'accept';
  let senderAttempts = 0;
  let holdMs: (recipient: string, attempt: number) => number = () => 0;
  let connectVerdict: (attempt: number) => SinkVerdict = () => 'accept';
  let connects = 0;
  const inFlight = { all: 0, byRecipient: new Map<string, number>() };
  const maxInFlight = { all: 0, byRecipient: new Map<string, number>() };
  let server: SMTPServer;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = new SMTPServer({
        secure: false,
        disabledCommands: ['STARTTLS'],
        allowInsecureAuth: true,
        logger: false,
        onConnect(_session, callback) {
          const answer = connectVerdict(++connects);
          if (answer === 'accept') callback();
          else callback(Object.assign(new Error(answer.message), { responseCode: answer.code }));
        },
        onAuth(auth, _session, callback) {
          if (auth.username === SINK_USER && auth.password === SINK_PASSWORD) callback(null, { user: auth.username });
          else callback(Object.assign(new Error('bad credentials'), { responseCode: 535 }));
        },
        onMailFrom(_address, _session, callback) {
          const answer = senderVerdict(++senderAttempts);
          if (answer === 'accept') callback();
          else callback(Object.assign(new Error(answer.message), { responseCode: answer.code }));
        },
        onRcptTo(address, _session, callback) {
          const recipient = address.address.toLowerCase();
          const attempt = (attempts.get(recipient) ?? 0) + 1;
          attempts.set(recipient, attempt);
          Promise.resolve(verdict(recipient, attempt)).then(
            (answer) => (answer === 'accept' ? callback() : callback(Object.assign(new Error(answer.message), { responseCode: answer.code }))),
            (e: unknown) => callback(Object.assign(new Error(`the sink's verdict failed: ${String(e)}`), { responseCode: 451 })),
          );
        },
        onData(stream, session, callback) {
          const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
          inFlight.all++;
          maxInFlight.all = Math.max(maxInFlight.all, inFlight.all);
          for (const r of recipients) {
            inFlight.byRecipient.set(r, (inFlight.byRecipient.get(r) ?? 0) + 1);
            maxInFlight.byRecipient.set(r, Math.max(maxInFlight.byRecipient.get(r) ?? 0, inFlight.byRecipient.get(r)!));
          }
          const done = (e?: Error) => {
            inFlight.all--;
            for (const r of recipients) inFlight.byRecipient.set(r, inFlight.byRecipient.get(r)! - 1);
            callback(e);
          };
          simpleParser(stream)
            .then(async (mail) => {
              const ms = holdMs(recipients[0], attempts.get(recipients[0]) ?? 0);
              if (ms > 0) await new Promise((r) => setTimeout(r, ms));
              mails.push(mail);
              done();
            })
            .catch((e: Error) => done(e));
        },
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.server.address() as AddressInfo).port;
        resolve();
      });
    });

  await listen();
  return {
    get url() {
      return `smtp://${SINK_USER}:${SINK_PASSWORD}@127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    mails,
    attempts,
    mailsTo: (address) =>
      mails.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((to) => to?.value.some((v) => v.address === address))),
    answer: (decide) => (verdict = decide),
    answerSender: (decide) => {
      senderAttempts = 0;
      senderVerdict = decide;
    },
    hold: (ms) => (holdMs = typeof ms === 'number' ? () => ms : ms),
    answerConnect: (decide) => {
      connects = 0;
      connectVerdict = decide;
    },
    maxInFlight,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    start: listen,
  };
}
