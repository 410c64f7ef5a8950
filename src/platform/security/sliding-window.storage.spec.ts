import { SlidingWindowStorage } from './sliding-window.storage';

describe('SlidingWindowStorage (the rate limiter memory)', () => {
  const TTL = 60_000;
  let now: number;
  let storage: SlidingWindowStorage;
  const hit = (key = 'client-a', limit = 10, blockDuration = TTL) => storage.increment(key, TTL, limit, blockDuration, 'default');
  const hits = async (n: number, key?: string, limit?: number) => {
    const records = [];
    for (let i = 0; i < n; i++) records.push(await hit(key, limit));
    return records;
  };

  beforeEach(() => {
    now = 1_000_000;
    storage = new SlidingWindowStorage(() => now);
  });

  it('lets `limit` requests through in a window, blocks the next one for the block duration, and counts them', async () => {
    const records = await hits(10);
    expect(records.map((r) => r.isBlocked)).toEqual(Array(10).fill(false));
    expect(records.map((r) => r.totalHits)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(records[0].timeToExpire).toBe(60);

    now += 15_000;
    const over = await hit();
    expect(over).toMatchObject({ isBlocked: true, timeToBlockExpire: 60 });
    now += 30_000;
    expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 30 });
  });

  it('after the block, weighs the previous window by how much of it the sliding window still covers', async () => {
    await hits(10);
    now += TTL + TTL / 2; // half of the first window still overlaps: it counts as 5 hits
    const again = await hits(6);
    expect(again.map((r) => r.isBlocked)).toEqual([false, false, false, false, false, true]);
    expect(again[4].totalHits).toBe(10);
  });

  it('forgets a window two periods old entirely', async () => {
    await hits(10);
    now += 2 * TTL;
    const fresh = await hits(10);
    expect(fresh.every((r) => !r.isBlocked)).toBe(true);
    expect(fresh[0].totalHits).toBe(1);
  });

  it('keeps clients and throttlers apart', async () => {
    await hits(11, 'client-a');
    expect(await hit('client-b')).toMatchObject({ isBlocked: false, totalHits: 1 });
    expect(await storage.increment('client-a', TTL, 10, TTL, 'burst')).toMatchObject({ isBlocked: false, totalHits: 1 });
  });

  it('costs the same per request at any limit and keeps one small record per client', async () => {
    const records = await hits(50_000, 'busy', 1_000_000);
    expect(records.at(-1)).toMatchObject({ isBlocked: false, totalHits: 50_000 });
    expect(storage.size).toBe(1);
  });

  it('sweeps clients whose windows ended and who are not blocked', async () => {
    for (let i = 0; i < 100; i++) await hit(`one-off-${i}`);
    await hits(11, 'blocked', 10);
    now += 2 * TTL - 1;
    for (let i = 0; i < 11; i++) await storage.increment('blocker', TTL, 10, 10 * TTL, 'default'); // blocked for 10 periods
    now += 2 * TTL;
    await hits(5000, 'steady', 1_000_000); // enough hits to trigger a sweep
    expect(storage.size).toBe(2); // steady and the blocker; the one-offs and the expired block are gone
  });

  it('keeps at most maxWindows clients, dropping the oldest, however many addresses send', async () => {
    storage = new SlidingWindowStorage(() => now, 1000);
    for (let i = 0; i < 5000; i++) await hit(`client-${i}`);
    expect(storage.size).toBeLessThanOrEqual(1000);
    expect(storage.size).toBeGreaterThan(980);
    // The newest are the ones kept: the last client is still counted, the first starts afresh.
    expect((await hit('client-4999')).totalHits).toBe(2);
    expect((await hit('client-0')).totalHits).toBe(1);
  });
});
