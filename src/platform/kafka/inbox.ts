import { DataSource, EntityManager } from 'typeorm';
import { EventEnvelope } from '../../contracts';
import { BatchTransaction } from './batch-transaction';

/** The inbox rows of one consumer run, looked up and written with one statement each. */
interface RunClaims {
  /** The run's expected event ids (lower case): the ones this lookup covers. */
  covered: Set<string>;
  /** `<event id> <handler>` already in the inbox when the run began. */
  handled: Promise<Set<string>>;
  /** The same set once the lookup has answered (the run's later events decide without an await). */
  known?: Set<string>;
  /** `<event id> <handler>` claimed by this run so far (a repeat inside the run is a duplicate). */
  claimed: Set<string>;
  rows: { eventId: string; handler: string; type: string; correlationId: string }[];
}

/** Rolls a run back when another consumer recorded one of its events first (the run then goes event by event). */
export class ConcurrentClaimError extends Error {
  constructor(readonly events: number) {
    super(`${events} event(s) of this run were recorded by another consumer while it ran`);
  }
}

/** What runs once the effect's transaction ends: after it commits, or when its COMMIT's outcome is unknown. */
interface Then {
  afterCommit?: () => void;
  ifCommitUnknown?: () => void;
}

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
  once(
    envelope: EventEnvelope,
    handler: string,
    effect: (manager: EntityManager) => Promise<void>,
    afterCommit?: () => void,
    ifCommitUnknown?: () => void,
  ): Promise<boolean> {
    const then: Then = { afterCommit, ifCommitUnknown };
    const run = BatchTransaction.current();
    return run ? this.within(run, envelope, handler, effect, then) : this.alone(envelope, handler, effect, then);
  }

  /** A transaction of one event, with the same before/after-commit behaviour as a run. */
  private async alone(envelope: EventEnvelope, handler: string, effect: (manager: EntityManager) => Promise<void>, then: Then): Promise<boolean> {
    const own = new BatchTransaction();
    try {
      const done = await own.run(() => this.within(own, envelope, handler, effect, then));
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
    { afterCommit, ifCommitUnknown }: Then,
  ): Promise<boolean> {
    // Without an await where the answer is already here (the run's later events): under async hooks
    // each await costs a promise and its hooks, and a run's events paid for a dozen.
    const manager = transaction.begun(this.dataSource) ?? (await transaction.manager(this.dataSource));
    // A run of one event claims it first, as a transaction of its own does: one INSERT where a lookup
    // and the INSERT at commit would be two statements (at a modest rate most runs hold one event).
    const fresh = transaction.eventIds.length > 1 ? this.claimInRun(transaction, manager, envelope, handler) : this.claim(manager, envelope, handler);
    if (!(typeof fresh === 'boolean' ? fresh : await fresh)) return false;
    await effect(manager);
    if (afterCommit) transaction.onCommit(afterCommit);
    if (ifCommitUnknown) transaction.onCommitUnknown(ifCommitUnknown);
    return true;
  }

  /**
   * In a run that knows its event ids: one lookup of the inbox for all of them (on first use), and the
   * claims written together just before the run commits, instead of one INSERT per event. The effect
   * then runs before its row is written; when another consumer recorded one of the events meanwhile
   * (a rebalance's old owner still finishing), the final INSERT finds it there and throws, so the
   * run rolls back and its events are handled again one by one, claim first.
   */
  private claimInRun(transaction: BatchTransaction, manager: EntityManager, envelope: EventEnvelope, handler: string): boolean | Promise<boolean> {
    const claims = transaction.beforeCommit(
      manager,
      `0-inbox.${this.schema}`,
      () => this.lookUp(manager, transaction.eventIds),
      (m, state) => this.writeClaims(m, state),
    );
    const eventId = envelope.eventId.toLowerCase();
    if (!claims.covered.has(eventId)) return this.claim(manager, envelope, handler);
    const key = `${eventId} ${handler}`;
    const decide = (handled: Set<string>): boolean => {
      if (handled.has(key) || claims.claimed.has(key)) return false;
      claims.claimed.add(key);
      claims.rows.push({ eventId, handler, type: envelope.type, correlationId: envelope.correlationId });
      return true;
    };
    return claims.known ? decide(claims.known) : claims.handled.then(decide);
  }

  private lookUp(manager: EntityManager, eventIds: readonly string[]): RunClaims {
    const covered = new Set(eventIds.map((id) => id.toLowerCase()));
    const handled = manager
      .query(`SELECT event_id::text AS id, handler FROM "${this.schema}".inbox WHERE event_id = ANY($1::uuid[])`, [[...covered]])
      .then((rows: { id: string; handler: string }[]) => (claims.known = new Set(rows.map((r) => `${r.id} ${r.handler}`))));
    handled.catch(() => undefined); // awaited by the claims that need it; never an unhandled rejection
    const claims: RunClaims = { covered, handled, claimed: new Set(), rows: [] };
    return claims;
  }

  private async writeClaims(manager: EntityManager, { rows }: RunClaims): Promise<void> {
    if (rows.length === 0) return;
    const written: unknown[] = await manager.query(
      `INSERT INTO "${this.schema}".inbox (event_id, handler, type, correlation_id)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING RETURNING 1`,
      [rows.map((r) => r.eventId), rows.map((r) => r.handler), rows.map((r) => r.type), rows.map((r) => r.correlationId)],
    );
    if (written.length !== rows.length) throw new ConcurrentClaimError(rows.length - written.length);
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
