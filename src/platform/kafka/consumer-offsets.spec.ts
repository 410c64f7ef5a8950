import { replayableTopics } from './consumer-offsets';
import { KafkaNaming } from './kafka-naming';

describe(replayableTopics.name, () => {
  it('keeps the event topics a group has offsets for and leaves its retry topics out', () => {
    const naming = new KafkaNaming('shop.', 'shop.');
    const committed = ['shop.order.placed', 'shop.email.retry.1', 'shop.order.confirmed', 'shop.email.retry.2'];
    expect(replayableTopics(committed, naming)).toEqual(['shop.order.placed', 'shop.order.confirmed']);
  });
});
