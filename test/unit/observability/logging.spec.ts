import pino from 'pino';
import { Writable } from 'node:stream';
import { LogContext } from '../../../src/platform/observability/log-context';
import { logLevelOf, pinoOptions, redactAddresses, requestIdFromHeaders, scrub } from '../../../src/platform/observability/logging';

function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino(pinoOptions({ NODE_ENV: 'production', LOG_LEVEL: 'debug' }, false), stream), lines };
}

describe('structured logs', () => {
  it('put the correlation id, event id and module of the message being handled on every line', () => {
    const { logger, lines } = capture();
    const headers = { 'correlation-id': Buffer.from('req-42'), 'event-id': Buffer.from('e-1'), 'event-type': Buffer.from('order.placed') };
    LogContext.forMessage('warehouse', headers, () => logger.info('reserved'));
    logger.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'reserved', level: 'info', correlationId: 'req-42', eventId: 'e-1', eventType: 'order.placed', module: 'warehouse' });
    expect(lines[1].correlationId).toBeUndefined();
  });

  it('keep the context of the event for a callback bound during its handling and called after it (an after-commit callback)', () => {
    const { logger, lines } = capture();
    const headers = { 'correlation-id': Buffer.from('req-7'), 'event-id': Buffer.from('e-7') };
    const later = LogContext.forMessage('email', headers, () => LogContext.bind((n: number) => logger.info(`committed ${n}`)));
    LogContext.forMessage('analytics', { 'event-id': Buffer.from('e-8') }, () => later(3)); // called in another event's flow
    later(4); // and outside any
    expect(lines.map((l) => [l.msg, l.eventId, l.module, l.correlationId])).toEqual([
      ['committed 3', 'e-7', 'email', 'req-7'],
      ['committed 4', 'e-7', 'email', 'req-7'],
    ]);
    const unbound = () => undefined;
    expect(LogContext.bind(unbound)).toBe(unbound); // nothing to keep outside a flow
  });

  it('redact authorization headers and passwords, and scrub secrets from messages', () => {
    const { logger, lines } = capture();
    logger.info({ req: { headers: { authorization: 'Bearer s3cret-token' } }, smtp: { password: 'hunter2' } }, 'sent via smtp://mailer:hunter2@smtp.example.com:587');
    const text = JSON.stringify(lines[0]);
    expect(text).not.toMatch(/s3cret-token|hunter2/);
    expect(lines[0].msg).toBe('sent via smtp://mailer:[redacted]@smtp.example.com:587');
  });

  it('redact a secret field at the top of a line or one level down, URL passwords in string fields, and basic credentials', () => {
    const { logger, lines } = capture();
    logger.info({ password: 'TOP-SECRET-1', a: { password: 'NESTED-SECRET-2' }, url: 'postgres://shop:PG-SECRET-3@db.internal/shop', n: 4 }, 'connected');
    logger.warn('Authorization: Basic c2hvcDpCQVNJQy1TRUNSRVQ= refused');
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/SECRET|c2hvcDpCQVNJQy1TRUNSRVQ/);
    expect(lines[0]).toMatchObject({ url: 'postgres://shop:[redacted]@db.internal/shop', n: 4 });
    // Words are not credentials; a Buffer one level down still serializes.
    expect(scrub('the relay wants basic authentication')).toBe('the relay wants basic authentication');
    logger.info({ message: { key: Buffer.from('k') } }, 'keyed');
    expect(JSON.stringify(lines[2])).not.toContain('unable to serialize');
  });

  it('mask card-like numbers but leave timestamps and ids alone', () => {
    expect(scrub('card 4111 1111 1111 1111 declined')).toBe('card [card ****1111] declined');
    expect(scrub('migration 1764000000000 ran')).toBe('migration 1764000000000 ran');
    expect(scrub('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]');
  });

  it('take the local part out of e-mail addresses in another system\'s words, and leave the rest', () => {
    expect(redactAddresses('550 5.1.1 <ada.l+shop@mail.example.co.uk>: Recipient address rejected')).toBe(
      '550 5.1.1 <[address]@mail.example.co.uk>: Recipient address rejected',
    );
    expect(redactAddresses('421 try again later (order 01a24f9f-27f8)')).toBe('421 try again later (order 01a24f9f-27f8)');
    // Local parts past plain ASCII: an apostrophe, letters with accents.
    expect(redactAddresses("550 <o'brien@example.com> unknown")).toBe('550 <[address]@example.com> unknown');
    expect(redactAddresses('550 ‹jürgen.müller@exämple.de› unknown')).toMatch(/^550 \S*\[address\]@exämple\.de› unknown$/);
    expect(redactAddresses('550 ‹jürgen.müller@exämple.de› unknown')).not.toMatch(/jürgen|müller/);
    // A quoted local part with a space only the address itself can find, in any case.
    expect(redactAddresses('550 <"Ann Smith"@example.com> no such user', ['"ann smith"@example.com'])).toBe('550 <[address]> no such user');
  });

  it('honour LOG_LEVEL, and default to warn only under NODE_ENV=test', () => {
    expect(logLevelOf({ NODE_ENV: 'production', LOG_LEVEL: 'debug' })).toBe('debug');
    expect(logLevelOf({ NODE_ENV: 'production' })).toBe('info');
    expect(logLevelOf({ NODE_ENV: 'test' })).toBe('warn');
  });

  it('take a well-formed X-Request-Id as the correlation id, and make a uuid otherwise', () => {
    expect(requestIdFromHeaders({ headers: { 'x-request-id': 'abc-123' } })).toBe('abc-123');
    expect(requestIdFromHeaders({ headers: { 'x-request-id': 'bad id\n' } })).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestIdFromHeaders({ headers: {} })).toMatch(/^[0-9a-f-]{36}$/);
  });
});
