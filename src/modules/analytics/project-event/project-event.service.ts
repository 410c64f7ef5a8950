import { Injectable } from '@nestjs/common';
import { EventEnvelope, EventMap, EventType } from '../../../contracts';
import { Inbox } from '../../../platform/kafka/inbox';
import { LiveChange, orderRef } from '../live/live-change';
import { LiveFeed } from '../live/live-feed';
import { BucketField, diffContributions } from '../projections/contributions';
import { applyToFact, OrderEventType, statusOf } from '../projections/order-fact';
import { ProjectionStore } from './projection-store';

type AnyEnvelope = { [K in EventType]: EventEnvelope<EventMap[K], K> }[EventType];
type OrderEnvelope = { [K in OrderEventType]: EventEnvelope<EventMap[K], K> }[OrderEventType];

/** The business time an event happened at (its payload's own timestamp, not when we processed it). */
function businessTime(e: AnyEnvelope): string {
  switch (e.type) {
    case 'order.placed':
      return e.payload.placedAt;
    case 'order.confirmed':
      return e.payload.confirmedAt;
    case 'order.rejected':
      return e.payload.rejectedAt;
    case 'order.cancelled':
      return e.payload.cancelledAt;
    case 'stock.reserved':
      return e.payload.reservedAt;
    case 'stock.rejected':
      return e.payload.rejectedAt;
    case 'stock.released':
      return e.payload.releasedAt;
    case 'product.upserted':
      return e.payload.updatedAt;
  }
}

/**
 * Projects one domain event into the read models, once (inbox), in one transaction, and hands
 * the committed effect to the live stream.
 */
@Injectable()
export class ProjectEventService {
  static readonly handler = 'analytics.projections';

  constructor(
    private readonly inbox: Inbox,
    private readonly store: ProjectionStore,
    private readonly live: LiveFeed,
  ) {}

  async project(envelope: AnyEnvelope): Promise<void> {
    let change: Omit<LiveChange, 'version'> | undefined;
    let committed: { version: number } | undefined;
    await this.inbox.once(
      envelope,
      ProjectEventService.handler,
      async (m) => {
        change =
          envelope.type === 'product.upserted'
            ? await this.projectProduct(m, envelope)
            : await this.projectOrderEvent(m, envelope);
        committed = this.store.versionAtCommit(m);
      },
      // Only after the commit: a dashboard never sees an effect that could still roll back. Events
      // committed together share the version (a snapshot holds all of them or none).
      () => change && committed && this.live.publish({ ...change, version: committed.version }),
      // The COMMIT's answer was lost: it may be in without ever being published (its redelivery finds
      // it done), so dashboards synced before it load a new snapshot.
      () => committed && this.live.lost(committed.version),
    );
  }

  private async projectOrderEvent(m: Parameters<ProjectionStore['lockFact']>[0], envelope: OrderEnvelope) {
    const before = await this.store.lockFact(m, envelope.payload.orderId);
    const after = applyToFact(before, envelope);
    const deltas = diffContributions(before, after);
    const changed = deltas.length > 0 || JSON.stringify(before) !== JSON.stringify(after);
    if (changed) this.store.saveFact(m, after);
    this.store.addDeltas(m, deltas);
    // A copy of an event already applied (re-sent under a new id) changes nothing: no feed row either.
    if (!changed) return undefined;

    const totals: LiveChange['totals'] = {};
    const minutes: LiveChange['minutes'] = {};
    for (const { counter: c, amount } of deltas) {
      if (c.kind === 'total') totals[c.metric] = amount;
      else if (c.kind === 'minute') (minutes[c.minute] ??= {})[c.field as BucketField] = amount;
    }
    const p = envelope.payload as { totalCents?: number; reason?: string };
    return {
      totals,
      minutes,
      feed: {
        type: envelope.type,
        key: orderRef(envelope.payload.orderId),
        status: statusOf(after),
        totalCents: p.totalCents ?? after.totalCents ?? undefined,
        reason: p.reason,
        at: businessTime(envelope),
      },
    };
  }

  private async projectProduct(
    m: Parameters<ProjectionStore['lockFact']>[0],
    envelope: EventEnvelope<EventMap['product.upserted'], 'product.upserted'>,
  ) {
    await this.store.upsertProduct(m, envelope.payload);
    return { totals: {}, minutes: {}, feed: { type: envelope.type, key: envelope.payload.sku, at: businessTime(envelope) } };
  }
}
