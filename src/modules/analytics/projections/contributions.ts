import { OrderFact, statusOf } from './order-fact';

/** The per-minute counters of the time series, keyed by each event's business time. */
export const BUCKET_FIELDS = ['placed', 'confirmed', 'rejected', 'cancelled', 'revenue_cents'] as const;
export type BucketField = (typeof BUCKET_FIELDS)[number];

/** One counter a fact adds to: a running total, a per-minute bucket field, or a product's sales. */
export type Counter =
  | { kind: 'total'; metric: string }
  | { kind: 'minute'; minute: string; field: BucketField }
  | { kind: 'product'; sku: string; field: 'units' | 'revenue_cents' };

export interface Delta {
  counter: Counter;
  amount: number;
}

export function counterKey(c: Counter): string {
  switch (c.kind) {
    case 'total':
      return `total|${c.metric}`;
    case 'minute':
      return `minute|${c.minute}|${c.field}`;
    case 'product':
      return `product|${c.sku}|${c.field}`;
  }
}

/** The start of the UTC minute holding `iso`, as an ISO string. */
export function minuteOf(iso: string): string {
  const ms = Date.parse(iso);
  return new Date(ms - (((ms % 60_000) + 60_000) % 60_000)).toISOString();
}

/**
 * Everything one fact adds to the counters. The counters always equal the sum of this over every
 * fact, so applying `diff(before, after)` per event keeps them right whatever order events came in.
 */
export function contributionsOf(fact: OrderFact): Delta[] {
  const out: Delta[] = [];
  const add = (counter: Counter, amount: number) => {
    if (amount !== 0) out.push({ counter, amount });
  };
  const total = fact.totalCents ?? 0;
  const sales = (sign: 1 | -1) => {
    for (const line of fact.items ?? []) {
      add({ kind: 'product', sku: line.sku, field: 'units' }, sign * line.quantity);
      add({ kind: 'product', sku: line.sku, field: 'revenue_cents' }, sign * line.quantity * line.unitPriceCents);
    }
  };

  const status = statusOf(fact);
  if (status) add({ kind: 'total', metric: `orders.${status}` }, 1);
  if (fact.placedAt) {
    add({ kind: 'total', metric: 'orders.placed' }, 1);
    add({ kind: 'minute', minute: minuteOf(fact.placedAt), field: 'placed' }, 1);
  }
  if (fact.confirmedAt) {
    add({ kind: 'total', metric: 'revenue.confirmed_cents' }, total);
    add({ kind: 'minute', minute: minuteOf(fact.confirmedAt), field: 'confirmed' }, 1);
    add({ kind: 'minute', minute: minuteOf(fact.confirmedAt), field: 'revenue_cents' }, total);
    sales(1);
  }
  if (fact.rejectedAt) {
    add({ kind: 'total', metric: `rejections.${fact.rejectionReason}` }, 1);
    add({ kind: 'minute', minute: minuteOf(fact.rejectedAt), field: 'rejected' }, 1);
  }
  if (fact.cancelledAt) {
    add({ kind: 'minute', minute: minuteOf(fact.cancelledAt), field: 'cancelled' }, 1);
    if (fact.cancelledFrom === 'CONFIRMED') {
      add({ kind: 'total', metric: 'revenue.cancelled_cents' }, total);
      add({ kind: 'minute', minute: minuteOf(fact.cancelledAt), field: 'revenue_cents' }, -total);
      sales(-1);
    }
  }
  if (fact.reservedAt) add({ kind: 'total', metric: 'stock.reserved' }, 1);
  if (fact.stockRejectedAt) add({ kind: 'total', metric: `stock.rejected.${fact.stockRejectionReason}` }, 1);
  if (fact.releasedAt) add({ kind: 'total', metric: 'stock.released' }, 1);
  return out;
}

/** What moving a fact from `before` to `after` changes, merged per counter and sorted by key (a fixed lock order). */
export function diffContributions(before: OrderFact, after: OrderFact): Delta[] {
  const merged = new Map<string, Delta>();
  const fold = (deltas: Delta[], sign: 1 | -1) => {
    for (const d of deltas) {
      const key = counterKey(d.counter);
      const current = merged.get(key);
      if (current) current.amount += sign * d.amount;
      else merged.set(key, { counter: d.counter, amount: sign * d.amount });
    }
  };
  fold(contributionsOf(after), 1);
  fold(contributionsOf(before), -1);
  return [...merged.entries()]
    .filter(([, d]) => d.amount !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, d]) => d);
}
