import { KafkaNaming } from './kafka-naming';

describe(KafkaNaming.name, () => {
  describe('retryLevel: which of a module’s retry topics a broker topic is (0: none of them)', () => {
    const naming = new KafkaNaming('shop.eu.', 'shop.eu.');

    it('reads the level of the module’s own retry topics, any level', () => {
      expect(naming.retryLevel('email', 'shop.eu.email.retry.1')).toBe(1);
      expect(naming.retryLevel('email', 'shop.eu.email.retry.3')).toBe(3);
      expect(naming.retryLevel('email', 'shop.eu.email.retry.120')).toBe(120);
    });

    it.each([
      ['another module’s', 'shop.eu.order.retry.2'],
      ['another prefix’s', 'shop.us.email.retry.2'],
      ['an unprefixed', 'email.retry.2'],
      ['an event topic', 'shop.eu.order.placed'],
      ['the dead-letter topic', 'shop.eu.email.dlq'],
      ['level 0', 'shop.eu.email.retry.0'],
      ['a zero-padded level', 'shop.eu.email.retry.01'],
      ['a level with a tail', 'shop.eu.email.retry.2.old'],
    ])('answers 0 for %s topic (%s)', (_, topic) => {
      expect(naming.retryLevel('email', topic)).toBe(0);
    });
  });
});
