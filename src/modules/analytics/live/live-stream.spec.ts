import { batchesOf, batchOf } from './live-batch';
import { LiveChange } from './live-change';
import { LiveFeed } from './live-feed';

const change = (version: number, placed = 1): LiveChange => ({
  version,
  totals: { 'orders.placed': placed },
  minutes: { '2025-06-01T10:00:00.000Z': { placed } },
  feed: { type: 'order.placed', key: `order-${version}`, at: '2025-06-01T10:00:00.000Z' },
});

describe(LiveFeed.name, () => {
  it('hands a cursor every change that arrived after it, in arrival order', () => {
    const feed = new LiveFeed(60_000);
    const start = feed.start;
    [3, 1, 2].forEach((v) => feed.publish(change(v)));
    const read = feed.after(start);
    expect(read.changes.map((c) => c.version)).toEqual([3, 1, 2]);
    expect(feed.after(read.cursor).changes).toEqual([]);
  });

  it('stops covering a snapshot version once a newer change was dropped from the history', () => {
    const feed = new LiveFeed(1000);
    feed.publish(change(1), 0);
    feed.publish(change(2), 500);
    expect(feed.covers(0)).toBe(true);
    feed.publish(change(3), 1600); // drops 1 and 2
    expect(feed.covers(1)).toBe(false);
    expect(feed.covers(2)).toBe(true);
  });

  it('treats a change lost at its COMMIT as dropped: clients synced below it, or reading from before it, load a new snapshot', () => {
    const feed = new LiveFeed(60_000);
    feed.publish(change(1));
    const before = feed.start;
    feed.lost(2);
    expect([feed.covers(1), feed.covers(2)]).toEqual([false, true]);
    expect(feed.missedAfter(before)).toBe(true);
    feed.publish(change(3));
    const { cursor } = feed.after(feed.start);
    expect(feed.missedAfter(cursor)).toBe(false);
  });

  it('tells a client that had read everything about a change lost afterwards: the loss takes its own place in the arrival order', () => {
    const feed = new LiveFeed(60_000);
    feed.publish(change(1));
    const caughtUp = feed.after(feed.start).cursor; // an idle feed, every change read
    feed.lost(2);
    // Synced at version 1 and read up to date: the gateway's test (missed, and not covered) says resync.
    expect([feed.missedAfter(caughtUp), feed.covers(1)]).toEqual([true, false]);
    // Reading on from there, it is not told again.
    expect(feed.missedAfter(feed.after(caughtUp).cursor)).toBe(false);
  });

  it('holds at most maxHeld changes', () => {
    const feed = new LiveFeed(60_000, 3);
    for (let v = 1; v <= 5; v++) feed.publish(change(v));
    expect(feed.after(feed.start).changes.map((c) => c.version)).toEqual([3, 4, 5]);
    expect(feed.covers(2)).toBe(true);
    expect(feed.covers(1)).toBe(false);
  });
});

describe(batchOf.name, () => {
  it('sums the changes above the snapshot version into one message and skips those the snapshot holds', () => {
    const batch = batchOf([change(4), change(5), change(6, 2)], 4)!;
    expect(batch).toMatchObject({
      fromVersion: 5,
      toVersion: 6,
      changes: 2,
      totals: { 'orders.placed': 3 },
      minutes: { '2025-06-01T10:00:00.000Z': { placed: 3 } },
    });
    expect(batch.feed.map((f) => f.key)).toEqual(['order-5', 'order-6']);
  });

  it('keeps one message small under a burst: 10k changes give one batch with the latest 25 feed rows', () => {
    const burst = Array.from({ length: 10_000 }, (_, i) => change(i + 1));
    const batch = batchOf(burst, 0)!;
    expect(batch.totals['orders.placed']).toBe(10_000);
    expect(batch.feed).toHaveLength(25);
    expect(batch.feed[24].key).toBe('order-10000');
    expect(JSON.stringify(batch).length).toBeLessThan(8_000);
  });

  it('sends nothing when the snapshot already holds every change', () => {
    expect(batchOf([change(1), change(2)], 2)).toBeUndefined();
  });
});

describe(batchesOf.name, () => {
  it('gives every snapshot version the batch of the changes above it, from one pass, whatever order the changes came in', () => {
    const arrived = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10].map((v) => change(v, v));
    const sinces = [0, 3, 3, 7, 10, 12, -1];
    const batches = batchesOf(arrived, sinces, 3);
    for (const since of sinces) {
      const above = arrived.filter((c) => c.version > since).sort((a, b) => a.version - b.version);
      const expected =
        above.length === 0
          ? undefined
          : {
              fromVersion: above[0].version,
              toVersion: above.at(-1)!.version,
              changes: above.length,
              totals: { 'orders.placed': above.reduce((n, c) => n + c.version, 0) },
              minutes: { '2025-06-01T10:00:00.000Z': { placed: above.reduce((n, c) => n + c.version, 0) } },
              feed: above.slice(-3).map((c) => c.feed),
            };
      expect([since, batches.get(since)]).toEqual([since, expected]);
    }
    // Each batch is its own: a client's copy does not change under another's.
    batches.get(0)!.totals['orders.placed'] = -1;
    expect(batches.get(3)!.totals['orders.placed']).toBe(4 + 5 + 6 + 7 + 8 + 9 + 10);
  });
});
