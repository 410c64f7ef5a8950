import { FeedEntry, LiveChange } from './live-change';

/** What one flush sends a client: the summed effect of many changes and the latest few feed rows. */
export interface LiveBatch {
  fromVersion: number;
  toVersion: number;
  changes: number;
  totals: Record<string, number>;
  minutes: LiveChange['minutes'];
  /** Newest last; at most `feedLimit` rows however many changes the batch sums. */
  feed: FeedEntry[];
}

/** Sums the changes above `sinceVersion` into one batch; undefined when none is left. */
export function batchOf(changes: LiveChange[], sinceVersion: number, feedLimit = 25): LiveBatch | undefined {
  return batchesOf(changes, [sinceVersion], feedLimit).get(sinceVersion);
}

/**
 * The batch of every version in `sinces` (undefined where no change is above it), from one pass over
 * the changes, newest first: the batch above a version is the one above the next higher version plus
 * the changes in between. One pass per version cost a full walk of the history each: 200 clients
 * synced at 200 versions made a flush take a second (a review's measurement, 12,000 changes held).
 */
export function batchesOf(changes: LiveChange[], sinces: number[], feedLimit = 25): Map<number, LiveBatch | undefined> {
  // The feed keeps them in version order nearly always: sorted only when it did not.
  let ascending = true;
  for (let k = 1; k < changes.length && ascending; k++) ascending = changes[k - 1].version <= changes[k].version;
  const oldestFirst = ascending ? changes : [...changes].sort((a, b) => a.version - b.version);
  const running: LiveBatch = { fromVersion: Infinity, toVersion: 0, changes: 0, totals: {}, minutes: {}, feed: [] };
  const out = new Map<number, LiveBatch | undefined>();
  let i = oldestFirst.length - 1; // newest first
  for (const since of [...new Set(sinces)].sort((a, b) => b - a)) {
    for (; i >= 0 && oldestFirst[i].version > since; i--) {
      const c = oldestFirst[i];
      running.changes++;
      running.fromVersion = Math.min(running.fromVersion, c.version);
      running.toVersion = Math.max(running.toVersion, c.version);
      for (const [metric, n] of Object.entries(c.totals)) running.totals[metric] = (running.totals[metric] ?? 0) + n;
      for (const [minute, fields] of Object.entries(c.minutes)) {
        const into = (running.minutes[minute] ??= {});
        for (const [field, n] of Object.entries(fields) as [keyof typeof fields, number][]) into[field] = (into[field] ?? 0) + n;
      }
      if (running.feed.length < feedLimit) running.feed.push(c.feed); // newest first while running
    }
    out.set(
      since,
      running.changes === 0
        ? undefined
        : {
            ...running,
            totals: { ...running.totals },
            minutes: Object.fromEntries(Object.entries(running.minutes).map(([m, f]) => [m, { ...f }])),
            feed: [...running.feed].reverse(), // newest last
          },
    );
  }
  return out;
}
