import { LiveChange } from './live-change';

interface Held {
  /** Arrival order in this process (versions can be published slightly out of order). */
  seq: number;
  receivedAt: number;
  change: LiveChange;
}

/**
 * The changes this process committed recently, in arrival order, for the live stream. A client
 * that loaded a snapshot at version V receives every held change above V; if one above V was
 * already dropped, it has to load a new snapshot.
 */
export class LiveFeed {
  /** What is held is `held[head..]`: trimming moves `head`, and the array is compacted now and then. */
  private held: Held[] = [];
  private head = 0;
  private nextSeq = 1;
  private droppedMaxVersion = 0;
  /** The arrival position when a change was last lost (see lost). */
  private lostAt = 0;

  constructor(
    private readonly historyMs: number,
    private readonly maxHeld = 100_000,
  ) {}

  publish(change: LiveChange, now = Date.now()): void {
    this.held.push({ seq: this.nextSeq++, receivedAt: now, change });
    this.trim(now);
  }

  /** The arrival position before everything held: a cursor there will read the whole history. */
  get start(): number {
    return this.head < this.held.length ? this.held[this.head].seq - 1 : this.nextSeq - 1;
  }

  /** True when no change above `version` has been dropped, so a client synced at it can miss nothing. */
  covers(version: number): boolean {
    return version >= this.droppedMaxVersion;
  }

  /**
   * A change of `version` may have committed without being published (the connection was lost
   * during its COMMIT): it counts as dropped, so a client synced below it loads a new snapshot.
   */
  lost(version: number): void {
    this.droppedMaxVersion = Math.max(this.droppedMaxVersion, version);
    // Its own arrival position, as if it had been published: a client that had read everything
    // before it (its cursor at the last position) is behind it, and loads a new snapshot.
    this.lostAt = this.nextSeq++;
  }

  /** True when a client whose cursor is at `cursor` may have missed a change: it fell out of the history, or one was lost after it. */
  missedAfter(cursor: number): boolean {
    return cursor < this.start || cursor < this.lostAt;
  }

  /** The changes that arrived after `cursor`, and the cursor after them. */
  after(cursor: number): { changes: LiveChange[]; cursor: number } {
    // The first held change past the cursor, by binary search: arrival positions only grow.
    let lo = this.head;
    let hi = this.held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.held[mid].seq > cursor) hi = mid;
      else lo = mid + 1;
    }
    if (lo >= this.held.length) return { changes: [], cursor: Math.max(cursor, this.nextSeq - 1) };
    const changes: LiveChange[] = new Array(this.held.length - lo);
    for (let i = lo; i < this.held.length; i++) changes[i - lo] = this.held[i].change;
    return { changes, cursor: this.held[this.held.length - 1].seq };
  }

  /**
   * Drops what is older than the history or past its size. At a steady rate nearly every publish
   * drops one: moving `head` costs nothing, where copying the rest (up to 100k entries) per publish
   * did. The array is compacted once the dropped part is its larger half (amortized O(1)).
   */
  private trim(now: number): void {
    while (
      this.head < this.held.length &&
      (this.held.length - this.head > this.maxHeld || now - this.held[this.head].receivedAt > this.historyMs)
    ) {
      this.droppedMaxVersion = Math.max(this.droppedMaxVersion, this.held[this.head].change.version);
      this.head++;
    }
    if (this.head >= 1024 && this.head * 2 >= this.held.length) {
      this.held = this.held.slice(this.head);
      this.head = 0;
    }
  }
}
