import { EventEnvelope, EventMap, OrderLinePayload } from '../../../contracts';

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED'] as const;
export type AnalyticsOrderStatus = (typeof ORDER_STATUSES)[number];

/** The order-scoped events the fact absorbs (product.upserted is projected elsewhere). */
export type OrderEventType = Exclude<keyof EventMap, 'product.upserted'>;

/**
 * What analytics knows about one order: the order itself (carried by every `order.*` event) and
 * the business time of the first event of each type. Each field is set once and never moved, so the
 * fact reached from a set of events is the same whatever order they arrived in.
 */
export interface OrderFact {
  orderId: string;
  placedAt: string | null;
  totalCents: number | null;
  items: OrderLinePayload[] | null;
  /** When `order.placed` itself arrived (its placedAt); the order may be known earlier from a later event. */
  placedSeenAt: string | null;
  confirmedAt: string | null;
  rejectedAt: string | null;
  rejectionReason: string | null;
  cancelledAt: string | null;
  /** The status a cancellation left: a cancelled CONFIRMED order gives its revenue back. */
  cancelledFrom: 'PENDING' | 'CONFIRMED' | null;
  reservedAt: string | null;
  stockRejectedAt: string | null;
  stockRejectionReason: string | null;
  releasedAt: string | null;
}

export function emptyFact(orderId: string): OrderFact {
  return {
    orderId,
    placedAt: null,
    totalCents: null,
    items: null,
    placedSeenAt: null,
    confirmedAt: null,
    rejectedAt: null,
    rejectionReason: null,
    cancelledAt: null,
    cancelledFrom: null,
    reservedAt: null,
    stockRejectedAt: null,
    stockRejectionReason: null,
    releasedAt: null,
  };
}

type OrderEnvelope = { [K in OrderEventType]: EventEnvelope<EventMap[K], K> }[OrderEventType];

/** Folds one event into the fact; an event whose field is already set changes nothing (first seen wins). */
export function applyToFact(fact: OrderFact, envelope: OrderEnvelope): OrderFact {
  const next = { ...fact };
  const first = <K extends keyof OrderFact>(field: K, value: OrderFact[K]) => {
    if (next[field] === null) next[field] = value;
  };
  const knowOrder = (p: { placedAt: string; totalCents: number; items: OrderLinePayload[] }) => {
    first('placedAt', p.placedAt);
    first('totalCents', p.totalCents);
    first('items', p.items.map(({ sku, quantity, unitPriceCents }) => ({ sku, quantity, unitPriceCents })));
  };
  switch (envelope.type) {
    case 'order.placed':
      knowOrder(envelope.payload);
      first('placedSeenAt', envelope.payload.placedAt);
      break;
    case 'order.confirmed':
      knowOrder(envelope.payload);
      first('confirmedAt', envelope.payload.confirmedAt);
      break;
    case 'order.rejected':
      knowOrder(envelope.payload);
      if (next.rejectedAt === null) {
        next.rejectedAt = envelope.payload.rejectedAt;
        next.rejectionReason = envelope.payload.reason;
      }
      break;
    case 'order.cancelled':
      knowOrder(envelope.payload);
      if (next.cancelledAt === null) {
        next.cancelledAt = envelope.payload.cancelledAt;
        next.cancelledFrom = envelope.payload.previousStatus;
      }
      break;
    case 'stock.reserved':
      first('reservedAt', envelope.payload.reservedAt);
      break;
    case 'stock.rejected':
      if (next.stockRejectedAt === null) {
        next.stockRejectedAt = envelope.payload.rejectedAt;
        next.stockRejectionReason = envelope.payload.reason;
      }
      break;
    case 'stock.released':
      first('releasedAt', envelope.payload.releasedAt);
      break;
  }
  return next;
}

/** The order's status as far as analytics knows; undefined while only stock events were seen. */
export function statusOf(fact: OrderFact): AnalyticsOrderStatus | undefined {
  if (fact.cancelledAt) return 'CANCELLED';
  if (fact.rejectedAt) return 'REJECTED';
  if (fact.confirmedAt) return 'CONFIRMED';
  if (fact.placedAt) return 'PENDING';
  return undefined;
}

/** When the saga decided (confirmed or rejected) and how long after placement, in ms. */
export function decisionOf(fact: OrderFact): { decidedAt: string; latencyMs: number } | undefined {
  const decidedAt = fact.confirmedAt ?? fact.rejectedAt;
  if (!decidedAt || !fact.placedAt) return undefined;
  return { decidedAt, latencyMs: Math.max(0, Date.parse(decidedAt) - Date.parse(fact.placedAt)) };
}
