import { ThrottlerStorage } from '@nestjs/throttler';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Window {
  /** Start of the current fixed window (ms). */
  start: number;
  /** Hits counted in the current window and in the one before it. */
  current: number;
  previous: number;
  blockedUntil: number;
  ttl: number;
}

/** Keys are swept for stale windows once every this many hits (no timer to stop). */
const SWEEP_EVERY = 4096;

/**
 * The most windows kept (about 320 bytes each: ~32 MB). A client is a route and an address (an
 * IPv6 /56), so one holder of many addresses could otherwise grow the map without bound (a /48
 * holds 65,536 /64s, times every route) until the process ran out of heap.
 */
export const MAX_WINDOWS = 100_000;

/**
 * The rate limiter's memory: a sliding-window counter per client (two fixed windows, the previous
 * one weighted by how much of it still overlaps the sliding window), so a hit costs O(1) time and
 * a client O(1) memory whatever the limit.
 *
 * Nest's default in-memory storage keeps one timestamp per hit and filters the whole list on every
 * request: with a lenient limit (RATE_LIMIT_MAX=100000 in development, or any high limit behind a
 * load balancer where many clients share an address) that is O(hits in the window) per request,
 * and it took a third of the app's CPU at 1,300 req/s (docs/performance.md).
 *
 * Like the default storage, a client over the limit is blocked for `blockDuration` (Nest passes
 * the ttl unless a route says otherwise) and its blocked requests do not count.
 *
 * At most `maxWindows` windows (a route and a client each) are kept; past that the oldest go.
 */
export class SlidingWindowStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  private hitsSinceSweep = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxWindows = MAX_WINDOWS,
  ) {}

  /** Clients with a window in memory (for tests and metrics). */
  get size(): number {
    return this.windows.size;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the interface is async (shared stores are)
  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const now = this.now();
    if (++this.hitsSinceSweep >= SWEEP_EVERY) this.sweep(now);
    const id = `${throttlerName}\u0000${key}`;
    let window = this.windows.get(id);
    if (!window) {
      if (this.windows.size >= this.maxWindows) this.evictOldest();
      window = { start: now, current: 0, previous: 0, blockedUntil: 0, ttl };
      this.windows.set(id, window);
    }
    const passed = Math.floor((now - window.start) / ttl);
    if (passed > 0) {
      window.previous = passed === 1 ? window.current : 0;
      window.current = 0;
      window.start += passed * ttl;
    }
    const timeToExpire = Math.ceil((window.start + ttl - now) / 1000);
    const estimate = () => window.previous * (1 - (now - window.start) / ttl) + window.current;

    if (window.blockedUntil > now) {
      return { totalHits: Math.ceil(estimate()), timeToExpire, isBlocked: true, timeToBlockExpire: Math.ceil((window.blockedUntil - now) / 1000) };
    }
    window.current++;
    const totalHits = Math.ceil(estimate());
    if (totalHits > limit) {
      window.blockedUntil = now + blockDuration;
      return { totalHits, timeToExpire, isBlocked: true, timeToBlockExpire: Math.ceil(blockDuration / 1000) };
    }
    return { totalHits, timeToExpire, isBlocked: false, timeToBlockExpire: 0 };
  }

  /**
   * Full: the oldest hundredth of the windows goes (a Map iterates in insertion order), with one
   * iterator. Their clients start afresh if they come back. One at a time cost 20-40 µs a new client
   * once full (V8 leaves deleted slots at the map's front, and each first key walks past them), and a
   * sweep per new client O(clients).
   */
  private evictOldest(): void {
    let left = Math.max(1, Math.floor(this.maxWindows / 100));
    for (const id of this.windows.keys()) {
      this.windows.delete(id);
      if (--left === 0) break;
    }
  }

  /** Forgets clients whose windows have both ended and who are not blocked. */
  private sweep(now: number): void {
    this.hitsSinceSweep = 0;
    for (const [id, window] of this.windows) {
      if (now - window.start >= 2 * window.ttl && window.blockedUntil <= now) this.windows.delete(id);
    }
  }
}
