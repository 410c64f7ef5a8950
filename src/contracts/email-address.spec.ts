import { isEmail } from 'class-validator';
import { isEmailAddress } from './email-address';

describe('isEmailAddress', () => {
  it('takes the addresses validator.js takes, quoted local parts included', () => {
    for (const address of ['ada@example.com', 'a.b+tag@sub.example.co.uk', '"ada lovelace"@example.com', 'ådå@exämple.com']) {
      expect([address, isEmailAddress(address)]).toEqual([address, true]);
    }
  });

  it('refuses control characters, a lone surrogate and bidirectional controls, though isEmail takes most of them quoted', () => {
    const hostile = [
      '"a\r\nBcc: x@evil.com"@example.com',
      '"a\nb"@example.com',
      '"\u0007"@example.com',
      '"a\u007fb"@example.com',
      '"a\u0085b"@example.com',
      '"moc.live\u202e"@example.com',
      '"a\u2066b"@example.com',
      'a\ud800b@example.com',
    ];
    // The reason for the wrapper: validator.js alone accepts the quoted ones.
    expect(isEmail(hostile[0])).toBe(true);
    for (const address of hostile) expect([address, isEmailAddress(address)]).toEqual([address, false]);
  });

  it('is false, never a throw, for what is not a string', () => {
    for (const value of [undefined, null, 12, ['a@example.com'], { address: 'a@example.com' }]) expect(isEmailAddress(value)).toBe(false);
  });
});
