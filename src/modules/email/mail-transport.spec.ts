import { AddressInfo, createServer, Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Environment, validateEnvironment } from '../../platform/config/environment';
import { retryDelayMs } from './deliver-mail/mail-delivery.service';
import SMTPTransport from 'nodemailer/lib/smtp-transport';
import MailMessage from 'nodemailer/lib/mailer/mail-message';
import { MailTransport, maskSmtpUrl, smtpTransportOptions } from './mail-transport';
import { messageIdFor } from './sent-mail';

describe(maskSmtpUrl.name, () => {
  it('hides the password and keeps the user, host and port', () => {
    const masked = maskSmtpUrl('smtp://mailer:s3cr%21t@smtp.example.com:587');
    expect(masked).toBe('smtp://mailer:***@smtp.example.com:587');
    expect(masked).not.toContain('s3cr');
  });

  it('leaves a URL without credentials as it is', () => expect(maskSmtpUrl('smtp://mailpit:1025')).toBe('smtp://mailpit:1025'));
});

describe(smtpTransportOptions.name, () => {
  const env = { NODE_ENV: 'production' as const, SMTP_TLS_REJECT_UNAUTHORIZED: true, SMTP_TIMEOUT_MS: 10_000, SMTP_REPLY_TIMEOUT_MS: 600_000 };

  it('requires STARTTLS in production for a login over smtp://, so the password never crosses in clear text', () => {
    expect(smtpTransportOptions(env, 'smtp://mailer:secret@relay:587').requireTLS).toBe(true);
    // smtps:// is TLS from the start; without a login there is no password to protect; outside production, a local catcher.
    expect(smtpTransportOptions(env, 'smtps://mailer:secret@relay:465').requireTLS).toBe(false);
    expect(smtpTransportOptions(env, 'smtp://relay:25').requireTLS).toBe(false);
    expect(smtpTransportOptions({ ...env, NODE_ENV: 'development' }, 'smtp://mailer:secret@relay:587').requireTLS).toBe(false);
  });

  it('keeps its TLS rules and timeouts over what the URL’s query says (nodemailer would let the query undo them)', () => {
    const options = smtpTransportOptions(env, 'smtp://mailer:secret@relay:587?requireTLS=false&ignoreTLS=true&tls.rejectUnauthorized=false&socketTimeout=5000&name=shop.example');
    expect(options).toMatchObject({ requireTLS: true, ignoreTLS: false, tls: { rejectUnauthorized: true }, socketTimeout: 600_000, name: 'shop.example' });
    expect(options.auth).toEqual({ user: 'mailer', pass: 'secret' });
    // What the transport nodemailer builds from them ends up with.
    expect(new SMTPTransport(options).options).toMatchObject({ host: 'relay', port: 587, requireTLS: true, ignoreTLS: false, tls: { rejectUnauthorized: true } });
  });

  it('bounds connecting by SMTP_TIMEOUT_MS and waits SMTP_REPLY_TIMEOUT_MS for a reply (the end of DATA may take long)', () => {
    expect(smtpTransportOptions({ ...env, SMTP_TIMEOUT_MS: 2000 }, 'smtp://relay:25')).toMatchObject({
      connectionTimeout: 2000,
      greetingTimeout: 2000,
      socketTimeout: 600_000,
    });
  });
});

describe('SMTP configuration', () => {
  const production = { NODE_ENV: 'production', ADMIN_TOKEN: 'a-real-production-token' };
  const messageOf = (raw: Record<string, unknown>) => {
    try {
      validateEnvironment(raw);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('refuses to start in production without SMTP_URL, naming it', () => {
    expect(messageOf(production)).toMatch(/SMTP_URL.*required when NODE_ENV=production/);
    expect(messageOf({ ...production, SMTP_URL: '' })).toMatch(/SMTP_URL/);
  });

  it('accepts production with an SMTP URL', () => {
    expect(messageOf({ ...production, SMTP_URL: 'smtps://u:p@smtp.example.com:465' })).not.toMatch(/SMTP_URL/);
  });

  it('lets development run without SMTP_URL, and still checks one that is set', () => {
    expect(validateEnvironment({ NODE_ENV: 'development' }).SMTP_URL).toBeUndefined();
    expect(messageOf({ NODE_ENV: 'development', SMTP_URL: 'http://mail' })).toMatch(/SMTP_URL must be an smtp/);
  });
});

describe(messageIdFor.name, () => {
  it('is the same for the same event, in the sender’s domain', () => {
    const id = messageIdFor('e0c6c2a4-1d0b-4c57-a7f4-6f7f0b6f9a11', 'Shop <orders@shop.example>');
    expect(id).toBe('<e0c6c2a4-1d0b-4c57-a7f4-6f7f0b6f9a11@shop.example>');
    expect(messageIdFor('e0c6c2a4-1d0b-4c57-a7f4-6f7f0b6f9a11', 'orders@shop.example')).toBe(id);
  });
});

describe(retryDelayMs.name, () => {
  it('doubles from the base up to the cap, within ±20 % jitter', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 10].map((a) => retryDelayMs(a, 1000, 5000, mid))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(retryDelayMs(1, 1000, 5000, () => 0)).toBe(800);
    expect(retryDelayMs(1, 1000, 5000, () => 1)).toBe(1200);
  });
});

describe(MailTransport.name, () => {
  const configOf = (values: Partial<Environment>) =>
    ({ get: (key: keyof Environment) => ({ ...validateEnvironment({}), ...values })[key] }) as unknown as ConfigService<Environment, true>;

  afterEach(() => jest.restoreAllMocks());

  it('says at start-up where mail goes, with the SMTP password masked (Nest Logger spied)', () => {
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const transport = new MailTransport(configOf({ SMTP_URL: 'smtp://mailer:hunter22@smtp.example.com:587' }));
    transport.onApplicationBootstrap();
    transport.onApplicationShutdown();
    const said = log.mock.calls.map((c) => String(c[0])).join('\n');
    expect(said).toContain('smtp://mailer:***@smtp.example.com:587');
    expect(said).not.toContain('hunter22');
  });

  it('says at start-up that mails are only logged when there is no SMTP_URL, and logs a rendered mail (Nest Logger spied)', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const transport = new MailTransport(configOf({}));
    transport.onApplicationBootstrap();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('SMTP_URL is not set'));
    await transport.send({ to: 'ada@example.com', messageId: '<e@shop.local>', subject: 'Hello', text: 'Total: 1.00', html: '<p/>' });
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/<e@shop\.local> to ada@example\.com not sent[\s\S]*Total: 1\.00/));
  });

  it('never lets a mail read files or URLs, over SMTP or not', () => {
    for (const values of [{ SMTP_URL: 'smtp://127.0.0.1:2525' }, {}]) {
      const transport = new MailTransport(configOf(values));
      const message = new MailMessage((transport as unknown as { transporter: ConstructorParameters<typeof MailMessage>[0] }).transporter, { text: 'x' });
      expect(message.data).toMatchObject({ disableFileAccess: true, disableUrlAccess: true });
      transport.onApplicationShutdown();
    }
  });

  it('gives up on a server that never greets after SMTP_TIMEOUT_MS (a real TCP server on 127.0.0.1 that says nothing)', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    // nodemailer's own greeting timeout is 30 s: reached only if SMTP_TIMEOUT_MS was dropped on the way.
    const transport = new MailTransport(configOf({ SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_TIMEOUT_MS: 300 }));
    try {
      const started = Date.now();
      await expect(transport.send({ to: 'ada@example.com', messageId: '<g@shop.local>', subject: 'Hi', text: 'x', html: '<p/>' })).rejects.toMatchObject({
        code: 'ETIMEDOUT',
        message: expect.stringContaining('Greeting never received'),
      });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      transport.onApplicationShutdown();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 15_000);
});
