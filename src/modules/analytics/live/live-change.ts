import { BucketField } from '../projections/contributions';

/** One row of the live feed: what an event did to one order (or product). */
export interface FeedEntry {
  type: string;
  /** The order id, or the SKU for `product.upserted`. */
  key: string;
  /** The order's status after the event, as analytics knows it. */
  status?: string;
  totalCents?: number;
  reason?: string;
  /** The event's business time. */
  at: string;
}

/** The effect of one committed projection transaction, as pushed to dashboards. */
export interface LiveChange {
  /** The projection version it committed; a snapshot with version V already holds every change <= V. */
  version: number;
  totals: Record<string, number>;
  minutes: Record<string, Partial<Record<BucketField, number>>>;
  feed: FeedEntry;
}
