import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createTransport, Transporter } from 'nodemailer';
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
 * The email module's one way out: nodemailer over SMTP (`SMTP_URL`), or, without it outside
 * production, nodemailer's JSON transport, which renders the mail and hands it back for the log.
 * Every attempt is bounded by SMTP_TIMEOUT_MS, so a slow server cannot hold the delivery loop.
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
    const timeout = config.get('SMTP_TIMEOUT_MS', { infer: true });
    this.transporter = this.smtpUrl
      ? createTransport({
          url: this.smtpUrl,
          tls: { rejectUnauthorized: config.get('SMTP_TLS_REJECT_UNAUTHORIZED', { infer: true }) },
          connectionTimeout: timeout,
          greetingTimeout: timeout,
          socketTimeout: timeout,
          // Mails are built from our own strings only: never let a template read files or URLs.
          disableFileAccess: true,
          disableUrlAccess: true,
        })
      : createTransport({ jsonTransport: true, disableFileAccess: true, disableUrlAccess: true });
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
