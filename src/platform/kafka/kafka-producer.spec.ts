import { chunksOf, OutgoingMessage } from './kafka-producer';

describe(chunksOf.name, () => {
  const message = (n: number, bytes: number): OutgoingMessage => ({ topic: 't', key: `k${n}`, value: 'v'.repeat(bytes) });

  it('keeps the messages in order, in runs of at most the byte limit, a larger message alone', () => {
    const messages = [message(1, 400), message(2, 400), message(3, 400), message(4, 5000), message(5, 100)];
    const chunks = chunksOf(messages, 1000);
    expect(chunks.map((c) => c.map((m) => m.key))).toEqual([['k1', 'k2'], ['k3'], ['k4'], ['k5']]);
    expect(chunks.flat()).toEqual(messages);
  });

  it('sends a small batch as one request', () => {
    const messages = Array.from({ length: 500 }, (_, n) => message(n, 600));
    expect(chunksOf(messages)).toHaveLength(1);
  });
});
