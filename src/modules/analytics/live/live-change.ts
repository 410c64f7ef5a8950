import { createHash } from 'node:crypto';
import { BucketField } from '../projections/contributions';

/**
 * What a public page shows of an order id: 8 hex characters of its SHA-256, enough to tell orders
 * apart on a dashboard. Never the id or a part of it: with the id anyone could read the order (its
 * customer's address) or cancel it, and the dashboard and its socket need no token. No bit of the
 * id can be read from a digest (testing candidates would take ~2^84 hashes: 74 random bits and the
 * millisecond), and unlike the id's first characters (a time-ordered id's creation time, the same
 * for a minute's orders) it differs between orders placed together.
 */
export function orderRef(orderId: string): string {
  return createHash('sha256').update(orderId.toLowerCase()).digest('hex').slice(0, 8);
}

/** One row of the live feed: what an event did to one order (or product). */
export interface FeedEntry {
  type: string;
  /** The order's reference (orderRef), or the SKU for `product.upserted`. */
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
