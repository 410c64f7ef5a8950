import { classifySmtpFailure } from './smtp-failure';

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

  it('keeps the server reply in the reason', () => {
    expect(classifySmtpFailure(smtpError({ responseCode: 550, response: '550 5.1.1 no such user' })).reason).toContain(
      '550 5.1.1 no such user',
    );
  });
});
