import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createTransport, Transporter } from 'nodemailer';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import SMTPTransport from 'nodemailer/lib/smtp-transport';
import { Environment } from '../../platform/config/environment';
import { RenderedMail } from './sent-mail';

export interface OutgoingMail extends RenderedMail {
  to: string;
  messageId: string;
}

/** The SMTP URL for logs: user and host, never the password. */
export function maskSmtpUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable SMTP_URL)';
  }
}

/**
 * nodemailer's SMTP options. Connecting and the greeting are bounded by SMTP_TIMEOUT_MS; every reply
 * after that by SMTP_REPLY_TIMEOUT_MS (a mail given up on while the server is still answering its
 * DATA may have been queued, and would go twice). In production, a login over `smtp://` requires
 * STARTTLS: without it nodemailer would send the password and the mail in clear text to a server
 * (or a man in the middle) that does not offer it.
 *
 * The URL is read here, and these options go on top of what it says: given the URL itself,
 * nodemailer would let its query (`?requireTLS=false&tls.rejectUnauthorized=false`) undo them. Other
 * query options (`?name=` for the EHLO name, say) still apply.
 */
export function smtpTransportOptions(
  env: Pick<Environment, 'SMTP_TLS_REJECT_UNAUTHORIZED' | 'SMTP_TIMEOUT_MS' | 'SMTP_REPLY_TIMEOUT_MS' | 'NODE_ENV'>,
  smtpUrl: string,
): SMTPTransport.Options {
  const fromUrl = parseConnectionUrl(smtpUrl);
  // `secure`: TLS from the first byte (smtps://), so there is no STARTTLS to require.
  const loginInClear = env.NODE_ENV === 'production' && !fromUrl.secure && fromUrl.auth !== undefined;
  return {
    ...fromUrl,
    tls: { ...fromUrl.tls, rejectUnauthorized: env.SMTP_TLS_REJECT_UNAUTHORIZED },
    requireTLS: loginInClear || fromUrl.requireTLS === true,
    ignoreTLS: loginInClear ? false : fromUrl.ignoreTLS,
    connectionTimeout: env.SMTP_TIMEOUT_MS,
    greetingTimeout: env.SMTP_TIMEOUT_MS,
    socketTimeout: env.SMTP_REPLY_TIMEOUT_MS,
  };
}

/** Mails are built from our own strings only: never let a template read files or URLs (message options, not the transport's). */
const MESSAGE_DEFAULTS = { disableFileAccess: true, disableUrlAccess: true };

/**
 * The email module's one way out: nodemailer over SMTP (`SMTP_URL`), or, without it outside
 * production, nodemailer's JSON transport, which renders the mail and hands it back for the log.
 */
@Injectable()
export class MailTransport implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Email');
  private readonly transporter: Transporter;
  private readonly smtpUrl?: string;
  readonly from: string;

  constructor(config: ConfigService<Environment, true>) {
    this.smtpUrl = config.get('SMTP_URL', { infer: true });
    this.from = config.get('SMTP_FROM', { infer: true });
    const smtp =
      this.smtpUrl &&
      smtpTransportOptions(
        {
          NODE_ENV: config.get('NODE_ENV', { infer: true }),
          SMTP_TLS_REJECT_UNAUTHORIZED: config.get('SMTP_TLS_REJECT_UNAUTHORIZED', { infer: true }),
          SMTP_TIMEOUT_MS: config.get('SMTP_TIMEOUT_MS', { infer: true }),
          SMTP_REPLY_TIMEOUT_MS: config.get('SMTP_REPLY_TIMEOUT_MS', { infer: true }),
        },
        this.smtpUrl,
      );
    // An SMTPTransport of our own: createTransport({ url, ... }) reads the URL alone and drops every
    // other option (timeouts, TLS checks).
    this.transporter = smtp
      ? createTransport(new SMTPTransport(smtp), MESSAGE_DEFAULTS)
      : createTransport({ jsonTransport: true, ...MESSAGE_DEFAULTS });
  }

  get delivers(): boolean {
    return this.smtpUrl !== undefined;
  }

  onApplicationBootstrap(): void {
    if (this.smtpUrl) this.logger.log(`sending mail through ${maskSmtpUrl(this.smtpUrl)} as ${this.from}`);
    else this.logger.warn('SMTP_URL is not set: mails are rendered and logged, not sent (allowed outside production only)');
  }

  onApplicationShutdown(): void {
    this.transporter.close();
  }

  /** Resolves with the server's reply once it accepted the mail; rejects with nodemailer's error. */
  async send(mail: OutgoingMail): Promise<string> {
    const info = (await this.transporter.sendMail({
      from: this.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
    })) as { response?: string; message?: string };
    if (this.smtpUrl) return info.response ?? '';
    this.logger.log(`mail ${mail.messageId} to ${mail.to} not sent (no SMTP_URL): "${mail.subject}"\n${mail.text}`);
    return 'logged (no SMTP_URL)';
  }
}
