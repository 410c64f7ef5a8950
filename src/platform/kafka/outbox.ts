import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { EventDefinition, EventEnvelope, EventMap, EventType } from '../../contracts';
import { BatchTransaction } from './batch-transaction';
import { Cause } from './cause';

interface OutboxRow {
  envelope: EventEnvelope;
  topic: string;
}

/** An event to append: a definition and a payload that matches it. */
export type PendingEvent = {
  [K in EventType]: { definition: EventDefinition<K, EventMap[K]>; payload: EventMap[K] };
}[EventType];

/** Builds a pending event with its payload checked against the event map. */
export function event<K extends EventType>(definition: EventDefinition<K, EventMap[K]>, payload: EventMap[K]): PendingEvent {
  return { definition, payload } as unknown as PendingEvent;
}

/**
 * A module's transactional outbox: events are written in the same transaction as the state
 * change that causes them, and the relay publishes them afterwards. Never publish beside a write.
 */
export class Outbox {
  constructor(
    readonly schema: string,
    readonly producer: string,
  ) {}

  /** Appends events inside the caller's transaction and returns their envelopes. */
  add(manager: EntityManager, cause: Cause, ...events: PendingEvent[]): Promise<EventEnvelope[]> {
    return this.addEach(
      manager,
      events.map((event) => ({ cause, event })),
    );
  }

  /**
   * Appends events of several flows in one statement (group commit: each with its own cause),
   * inside the caller's transaction; rows keep the order given, so each key's events stay in order.
   */
  async addEach(manager: EntityManager, entries: { cause: Cause; event: PendingEvent }[]): Promise<EventEnvelope[]> {
    if (entries.length === 0) return [];
    if (!manager.queryRunner?.isTransactionActive) {
      throw new Error('Outbox.add must run inside a transaction with the state change it records');
    }
    const occurredAt = new Date().toISOString();
    const envelopes = entries.map(({ cause, event: { definition, payload } }) => ({
      eventId: randomUUID(),
      type: definition.type,
      version: definition.version,
      occurredAt,
      key: definition.key(payload as never),
      correlationId: cause.correlationId,
      causationId: cause.causationId,
      producer: this.producer,
      payload,
    }));
    const rows = envelopes.map((envelope, i) => ({ envelope, topic: entries[i].event.definition.topic }));
    // In a consumer run the rows of all its events go in with one statement just before it commits
    // (in the order they were added, so each key's events stay in order).
    const run = BatchTransaction.sharedOn(manager);
    if (run) {
      run.beforeCommit(manager, `0-outbox.${this.schema}`, () => [] as OutboxRow[], (m, all) => this.insert(m, all)).push(...rows);
    } else {
      await this.insert(manager, rows);
    }
    return envelopes;
  }

  private async insert(manager: EntityManager, rows: OutboxRow[]): Promise<void> {
    await manager.query(
      `INSERT INTO "${this.schema}".outbox (event_id, topic, key, envelope)
       SELECT e, t, k, v FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS x(e, t, k, v, n) ORDER BY n`,
      [rows.map((r) => r.envelope.eventId), rows.map((r) => r.topic), rows.map((r) => r.envelope.key), rows.map((r) => JSON.stringify(r.envelope))],
    );
  }
}
