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
  private held: Held[] = [];
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
    return this.held.length > 0 ? this.held[0].seq - 1 : this.nextSeq - 1;
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
    const first = this.held.findIndex((h) => h.seq > cursor);
    if (first < 0) return { changes: [], cursor: Math.max(cursor, this.nextSeq - 1) };
    const slice = this.held.slice(first);
    return { changes: slice.map((h) => h.change), cursor: slice[slice.length - 1].seq };
  }

  private trim(now: number): void {
    let drop = 0;
    while (
      drop < this.held.length &&
      (this.held.length - drop > this.maxHeld || now - this.held[drop].receivedAt > this.historyMs)
    ) {
      this.droppedMaxVersion = Math.max(this.droppedMaxVersion, this.held[drop].change.version);
      drop++;
    }
    if (drop > 0) this.held = this.held.slice(drop);
  }
}
