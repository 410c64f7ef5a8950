import { EntityManager } from 'typeorm';
import { EventDefinition, EventEnvelope, EventMap, EventType } from '../../contracts';
import { uuidV7 } from '../database/uuid-v7';
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
    const rows = this.rowsOf(entries);
    // In a consumer run the rows of all its events go in with one statement just before it commits
    // (in the order they were added, so each key's events stay in order).
    const run = BatchTransaction.sharedOn(manager);
    if (run) {
      run.beforeCommit(manager, `0-outbox.${this.schema}`, () => [] as OutboxRow[], (m, all) => this.insert(m, all)).push(...rows);
    } else {
      await this.insert(manager, rows);
    }
    return rows.map((r) => r.envelope);
  }

  /**
   * The rows addEach would write, as a data-modifying CTE for the caller's own statement: the state
   * change and its events in one round trip (a single statement is atomic on its own). `sql` is an
   * INSERT whose parameters are numbered from `firstParam`; `params` are their values, in order.
   */
  inStatement(entries: { cause: Cause; event: PendingEvent }[], firstParam: number): { envelopes: EventEnvelope[]; sql: string; params: unknown[] } {
    const rows = this.rowsOf(entries);
    return { envelopes: rows.map((r) => r.envelope), ...this.insertSql(rows, firstParam) };
  }

  private rowsOf(entries: { cause: Cause; event: PendingEvent }[]): OutboxRow[] {
    const now = Date.now();
    const occurredAt = new Date(now).toISOString();
    return entries.map(({ cause, event: { definition, payload } }) => ({
      topic: definition.topic,
      envelope: {
        eventId: uuidV7(now), // time-ordered: every inbox and the outbox index it at their right edge
        type: definition.type,
        version: definition.version,
        occurredAt,
        key: definition.key(payload as never),
        correlationId: cause.correlationId,
        causationId: cause.causationId,
        producer: this.producer,
        payload,
      },
    }));
  }

  private insertSql(rows: OutboxRow[], first: number): { sql: string; params: unknown[] } {
    const [e, t, k, v] = [first, first + 1, first + 2, first + 3];
    return {
      sql: `INSERT INTO "${this.schema}".outbox (event_id, topic, key, envelope)
       SELECT e, t, k, v FROM unnest($${e}::uuid[], $${t}::text[], $${k}::text[], $${v}::jsonb[]) WITH ORDINALITY AS x(e, t, k, v, n) ORDER BY n`,
      params: [rows.map((r) => r.envelope.eventId), rows.map((r) => r.topic), rows.map((r) => r.envelope.key), rows.map((r) => JSON.stringify(r.envelope))],
    };
  }

  private async insert(manager: EntityManager, rows: OutboxRow[]): Promise<void> {
    const { sql, params } = this.insertSql(rows, 1);
    await manager.query(sql, params);
  }
}
