import { DataSource, EntityManager } from 'typeorm';
import { EventEnvelope } from '../../contracts';

/**
 * A module's inbox: the ids of the events it has handled, written in the same transaction as
 * the handler's effect, so a redelivered or duplicated event changes nothing.
 */
export class Inbox {
  constructor(
    readonly schema: string,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * Runs `effect` once per (event, handler): in one transaction that records the event id first.
   * Returns false (and runs nothing) for an event already handled.
   */
  async once(
    envelope: EventEnvelope,
    handler: string,
    effect: (manager: EntityManager) => Promise<void>,
  ): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      if (!(await this.claim(manager, envelope, handler))) return false;
      await effect(manager);
      return true;
    });
  }

  /** Records the event as handled; false when it already was. A concurrent claim waits for ours. */
  async claim(manager: EntityManager, envelope: EventEnvelope, handler: string): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO "${this.schema}".inbox (event_id, handler, type, correlation_id)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
      [envelope.eventId, handler, envelope.type, envelope.correlationId],
    );
    return rows.length === 1;
  }
}
