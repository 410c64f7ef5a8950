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
  const fresh = changes.filter((c) => c.version > sinceVersion);
  if (fresh.length === 0) return undefined;
  const batch: LiveBatch = { fromVersion: Infinity, toVersion: 0, changes: fresh.length, totals: {}, minutes: {}, feed: [] };
  for (const c of fresh) {
    batch.fromVersion = Math.min(batch.fromVersion, c.version);
    batch.toVersion = Math.max(batch.toVersion, c.version);
    for (const [metric, n] of Object.entries(c.totals)) batch.totals[metric] = (batch.totals[metric] ?? 0) + n;
    for (const [minute, fields] of Object.entries(c.minutes)) {
      const into = (batch.minutes[minute] ??= {});
      for (const [field, n] of Object.entries(fields) as [keyof typeof fields, number][]) into[field] = (into[field] ?? 0) + n;
    }
  }
  batch.feed = fresh.slice(-feedLimit).map((c) => c.feed);
  return batch;
}
