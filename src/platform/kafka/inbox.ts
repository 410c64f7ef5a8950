import { DataSource, EntityManager } from 'typeorm';
import { EventEnvelope } from '../../contracts';
import { BatchTransaction } from './batch-transaction';

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
   *
   * Inside a consumer's batch run (see BatchTransaction) the transaction is the run's, committed
   * by the transport after the run's last event: so anything that must only follow a commit (a
   * live update, waking a delivery loop) goes in `afterCommit`, never after `once` returns.
   */
  async once(
    envelope: EventEnvelope,
    handler: string,
    effect: (manager: EntityManager) => Promise<void>,
    afterCommit?: () => void,
  ): Promise<boolean> {
    const run = BatchTransaction.current();
    if (run) return this.within(run, envelope, handler, effect, afterCommit);
    // Alone: a transaction of one event, with the same before/after-commit behaviour as a run.
    const own = new BatchTransaction();
    try {
      const done = await own.run(() => this.within(own, envelope, handler, effect, afterCommit));
      await (done ? own.commit() : own.rollback());
      return done;
    } catch (e) {
      await own.rollback();
      throw e;
    }
  }

  private async within(
    transaction: BatchTransaction,
    envelope: EventEnvelope,
    handler: string,
    effect: (manager: EntityManager) => Promise<void>,
    afterCommit?: () => void,
  ): Promise<boolean> {
    const manager = await transaction.manager(this.dataSource);
    if (!(await this.claim(manager, envelope, handler))) return false;
    await effect(manager);
    if (afterCommit) transaction.onCommit(afterCommit);
    return true;
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
