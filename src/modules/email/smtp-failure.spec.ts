import { classifySmtpFailure, givesUp } from './smtp-failure';

const smtpError = (fields: Record<string, unknown>) => Object.assign(new Error('smtp said no'), fields);

describe(classifySmtpFailure.name, () => {
  it.each([
    ['a 550 to RCPT TO (no such mailbox)', { code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 no such user' }],
    ['a 554 to DATA (message refused)', { code: 'EMESSAGE', responseCode: 554 }],
    ['a recipient nodemailer refuses before sending', { code: 'EENVELOPE' }],
  ])('treats %s as permanent', (_, fields) => expect(classifySmtpFailure(smtpError(fields)).permanent).toBe(true));

  it.each([
    ['a 451 greylisting reply', { code: 'EENVELOPE', responseCode: 451 }],
    ['a 421 service not available', { code: 'EPROTOCOL', responseCode: 421 }],
    ['a refused connection', { code: 'ESOCKET' }],
    ['a connection timeout', { code: 'ETIMEDOUT' }],
    ['a 535 to AUTH (our credentials, not the mail)', { code: 'EAUTH', responseCode: 535 }],
    ['an error without any code', {}],
  ])('treats %s as transient', (_, fields) => expect(classifySmtpFailure(smtpError(fields)).permanent).toBe(false));

  it.each([
    ['a 535 to AUTH', { code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' }],
    ['a 530 to MAIL FROM (no login where one is required)', { code: 'EENVELOPE', responseCode: 530, response: '530 Error: authentication Required', command: 'MAIL FROM' }],
    ['a 550 to MAIL FROM (a sender the server refuses)', { code: 'EENVELOPE', responseCode: 550, command: 'MAIL FROM' }],
    ['a 554 greeting (our host is not on the relay’s allowlist)', { code: 'EPROTOCOL', responseCode: 554, command: 'CONN', response: '554 5.7.1 Client host rejected' }],
    ['a 550 to EHLO', { code: 'EPROTOCOL', responseCode: 550, command: 'EHLO' }],
    // Postfix refuses our host, our sender or an unauthenticated relay at RCPT TO (smtpd_delay_reject=yes).
    ['a relay refused at RCPT TO', { code: 'EENVELOPE', responseCode: 554, command: 'RCPT TO', response: '554 5.7.1 <ada@example.com>: Relay access denied' }],
    ['our host refused at RCPT TO', { code: 'EENVELOPE', responseCode: 554, command: 'RCPT TO', response: '554 5.7.1 <mail.shop.local[10.0.0.7]>: Client host rejected: Access denied' }],
    ['our sender refused at RCPT TO', { code: 'EENVELOPE', responseCode: 553, command: 'RCPT TO', response: '553 5.7.1 <shop@example.org>: Sender address rejected: not owned by user' }],
    ['a deferred relay refusal', { code: 'EENVELOPE', responseCode: 454, command: 'RCPT TO', response: '454 4.7.1 <ada@example.com>: Relay access denied' }],
    ['authentication required at RCPT TO', { code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO', response: '550 5.7.0 Authentication required' }],
    ['a DMARC refusal at DATA', { code: 'EMESSAGE', responseCode: 550, command: 'DATA', response: '550 5.7.26 Unauthenticated email from example.org is not accepted due to domain\'s DMARC policy' }],
  ])('treats %s as our setup, kept until fixed however many attempts', (_, fields) => {
    const failure = classifySmtpFailure(smtpError(fields));
    expect(failure).toMatchObject({ permanent: false, configuration: true });
    expect(givesUp(failure, 1000, 30)).toBe(false);
  });

  it('keeps a recipient’s own refusal permanent, x.7.1 and x.7.0 policy replies and addresses that echo our words included', () => {
    for (const response of [
      '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown',
      '550 5.7.1 Recipient refuses mail from this sender',
      '552 5.2.2 Mailbox full',
      '552 5.7.0 This message was blocked because its content presents a potential security issue',
      '550 5.1.1 <"relay access denied"@example.com>: Recipient address rejected: User unknown',
      '550 5.1.1 <"x 5.7.8 y"@example.com>: Recipient address rejected: User unknown',
    ]) {
      expect([response, classifySmtpFailure(smtpError({ code: 'EENVELOPE', responseCode: Number(response.slice(0, 3)), command: 'RCPT TO', response }))]).toEqual([
        response,
        expect.objectContaining({ permanent: true, configuration: false }),
      ]);
    }
  });

  it('gives up on a mail refused for good at once, and on a transient failure after the last attempt', () => {
    const refused = classifySmtpFailure(smtpError({ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }));
    expect(refused.configuration).toBe(false);
    expect(givesUp(refused, 1, 30)).toBe(true);
    const greylisted = classifySmtpFailure(smtpError({ code: 'EENVELOPE', responseCode: 451, command: 'RCPT TO' }));
    expect([givesUp(greylisted, 29, 30), givesUp(greylisted, 30, 30)]).toEqual([false, true]);
    // A message too large is refused at MAIL FROM too, but it is the mail's fault.
    expect(classifySmtpFailure(smtpError({ code: 'EMESSAGE', command: 'MAIL FROM' }))).toMatchObject({ permanent: true, configuration: false });
  });

  it('keeps the server reply in the reason', () => {
    expect(classifySmtpFailure(smtpError({ responseCode: 550, response: '550 5.1.1 no such user' })).reason).toContain(
      '550 5.1.1 no such user',
    );
  });
});
