import { AsyncLocalStorage } from 'node:async_hooks';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { LogContext } from '../observability/log-context';
import { isInfrastructureError } from './errors';

/** A uuid in its text form (event ids, and message keys that are aggregate ids). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One database transaction shared by the consumer effects of a run of events (one or more
 * partitions of a fetch, of one topic unless the module's runs mix topics; group commit on the consuming side): `Inbox.once` joins it instead of opening its own,
 * so a hundred events cost one BEGIN/COMMIT, one fsync and one outbox NOTIFY instead of a hundred.
 *
 * It is optimistic: there are no savepoints. When any effect fails, the transport rolls the whole
 * run back and handles its events again one transaction each, with the usual retries, so a failure
 * costs the run's events a second pass but never mixes a half-applied event into a commit. The
 * inbox rows are part of the run, so a rolled-back event was never recorded as handled.
 *
 * Waits for row or advisory locks held by another partition's run are bounded (`lock_timeout`):
 * two runs that lock the same rows in different orders (a hot SKU, an order's reservation row)
 * would otherwise sit in a deadlock until Postgres' `deadlock_timeout`; the timeout turns that into
 * a quick fall-back to per-event transactions.
 */
export class BatchTransaction {
  private static readonly current$ = new AsyncLocalStorage<BatchTransaction>();
  private readonly runners = new Map<DataSource, Promise<QueryRunner>>();
  /** The managers of the transactions that have begun, by data source (see begun). */
  private readonly open = new Map<DataSource, EntityManager>();
  private readonly afterCommit: (() => void)[] = [];
  /** Run instead of afterCommit when the connection is lost during COMMIT: it may have committed or not. */
  private readonly ifCommitUnknown: (() => void)[] = [];
  private readonly hooks = new Map<string, { manager: EntityManager; state: unknown; flush: (m: EntityManager, state: never) => Promise<void> }>();
  /** `keys` that are aggregate ids, lower case, each once (derived on first use). */
  private keyIds?: Set<string>;

  /**
   * `lockTimeoutMs` bounds lock waits (a run of several events); none for one event alone.
   * `eventIds` are the ids the run expects to handle (from the messages' headers), so the inbox can
   * look them all up with one query and write its rows with one more when there are several (see
   * Inbox.once); `keys` are
   * the messages' keys (the aggregate ids: an order's id), so an effect can read and lock the rows
   * of every event of the run with one query too.
   */
  constructor(
    private readonly lockTimeoutMs?: number,
    readonly eventIds: readonly string[] = [],
    private keys: readonly string[] = [],
  ) {}

  /**
   * Names more aggregates for readForKeys, when they are known only once the transaction has begun
   * (a sweep that selects and locks them first); before any effect has read them.
   */
  addKeys(keys: readonly string[]): void {
    if (this.keyIds) throw new Error('addKeys after the run read its aggregates');
    this.keys = [...this.keys, ...keys];
  }

  /**
   * Whether several events may share this transaction (a consumer run) rather than one event alone.
   * Effects that lock hot rows can then read optimistically and lock at commit (see beforeCommit):
   * a conflict rolls the run back into per-event transactions, where they lock first.
   */
  get shared(): boolean {
    return this.lockTimeoutMs !== undefined;
  }

  /** The run the calling code is part of, if any (only while a consumer handler runs in one). */
  static current(): BatchTransaction | undefined {
    return BatchTransaction.current$.getStore();
  }

  /**
   * The current run when its events share it and `manager` is its transaction: work may then wait
   * for the commit (beforeCommit) instead of a round trip per event. Undefined otherwise.
   */
  static sharedOn(manager: EntityManager): BatchTransaction | undefined {
    const run = BatchTransaction.current();
    return run?.shared && run.owns(manager) ? run : undefined;
  }

  /**
   * Rows of every aggregate the run names (its messages' keys that are uuids: order ids), read with
   * `read` once, on first use by an event of one of them: one statement for the run instead of one
   * per event. Undefined for an id the run does not name (it reads its own row).
   */
  readForKeys<T>(manager: EntityManager, key: string, id: string, read: (ids: string[]) => Promise<T>): Promise<T> | undefined {
    const keyIds = (this.keyIds ??= new Set(this.keys.map((k) => k.toLowerCase()).filter((k) => UUID.test(k))));
    if (!keyIds.has(id.toLowerCase())) return undefined;
    return this.beforeCommit(
      manager,
      key,
      () => {
        const rows = read([...keyIds]); // the ids are spread once, for the one read of the run
        rows.catch(() => undefined); // awaited by the events that need it; never an unhandled rejection
        return rows;
      },
      async () => undefined,
    );
  }

  /** Runs `fn` (one handler call) as part of this run. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return BatchTransaction.current$.run(this, fn);
  }

  /** The open transaction on `dataSource`, begun on first use. */
  async manager(dataSource: DataSource): Promise<EntityManager> {
    let runner = this.runners.get(dataSource);
    if (!runner) {
      runner = this.begin(dataSource);
      this.runners.set(dataSource, runner);
    }
    return (await runner).manager;
  }

  /**
   * The transaction's manager on `dataSource` once it has begun, without waiting: a run's events
   * after its first skip an await (each costs promises, and async hooks, per event). Undefined before.
   */
  begun(dataSource: DataSource): EntityManager | undefined {
    return this.open.get(dataSource);
  }

  /** Whether `manager` is this transaction's own (work registered with beforeCommit must use it). */
  owns(manager: EntityManager): boolean {
    for (const open of this.open.values()) if (open === manager) return true;
    return false;
  }

  /** Runs `fn` after the run commits (e.g. a live update), in the handler's log context; dropped when it rolls back. */
  onCommit(fn: () => void): void {
    this.afterCommit.push(LogContext.bind(fn));
  }

  /**
   * Runs `fn` when the connection is lost during COMMIT, so the run may have committed or not: its
   * events are handled again and the inbox finds them done if it did, and no afterCommit runs then.
   */
  onCommitUnknown(fn: () => void): void {
    this.ifCommitUnknown.push(LogContext.bind(fn));
  }

  /**
   * Work shared by every event of the transaction, done once just before it commits: effects add to
   * `state` (created on first use under `key`) and `flush` writes it. Hot rows (counters, a version)
   * are then updated once per run and locked only for the end of it. Hooks run in key order, so
   * concurrent transactions lock those rows in one order.
   */
  beforeCommit<S>(manager: EntityManager, key: string, create: () => S, flush: (m: EntityManager, state: S) => Promise<void>): S {
    let hook = this.hooks.get(key);
    if (!hook) {
      hook = { manager, state: create(), flush: flush as (m: EntityManager, state: never) => Promise<void> };
      this.hooks.set(key, hook);
    }
    return hook.state as S;
  }

  /**
   * Runs the before-commit hooks, commits every transaction of the run, then the after-commit
   * callbacks. The hooks start in key order without waiting for each other: on a pipelined
   * connection (DATABASE_PIPELINE) their statements go out together and Postgres runs them in that
   * order, so the run's writes cost one round trip instead of one each, and rows are still locked
   * in one order. A hook's check that fails (a claim found taken) fails the run before COMMIT.
   */
  async commit(): Promise<void> {
    let committing = false;
    try {
      const hooks = [...this.hooks.keys()].sort().map((key) => this.hooks.get(key)!);
      if (hooks.every((h) => pipelined(h.manager))) {
        const flushes = hooks.map((h) => h.flush(h.manager, h.state as never));
        const failed = (await Promise.allSettled(flushes)).find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
      } else {
        // node-postgres queues a statement sent while another runs (and deprecates doing so): one at a time.
        for (const h of hooks) await h.flush(h.manager, h.state as never);
      }
      committing = true;
      for (const runner of this.runners.values()) await (await runner).commitTransaction();
    } catch (e) {
      const unknown = committing && isInfrastructureError(e) ? this.ifCommitUnknown.splice(0) : [];
      await this.rollback(); // never hand a client back to the pool inside a transaction
      for (const fn of unknown) fn();
      throw e;
    }
    this.hooks.clear();
    await this.release();
    for (const fn of this.afterCommit.splice(0)) fn();
  }

  /** Rolls every transaction of the run back; never throws (a dead connection rolls back anyway). */
  async rollback(): Promise<void> {
    this.afterCommit.length = 0;
    this.ifCommitUnknown.length = 0;
    this.hooks.clear();
    for (const runner of this.runners.values()) {
      await runner.then((r) => (r.isTransactionActive ? r.rollbackTransaction() : undefined)).catch(() => undefined);
    }
    await this.release();
  }

  private async begin(dataSource: DataSource): Promise<QueryRunner> {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      if (this.lockTimeoutMs === undefined) await runner.startTransaction();
      else await startWith(runner, `SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.lockTimeoutMs))}`);
      this.open.set(dataSource, runner.manager);
      return runner;
    } catch (e) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      await runner.release().catch(() => undefined);
      throw e;
    }
  }

  private async release(): Promise<void> {
    const runners = [...this.runners.values()];
    this.runners.clear();
    this.open.clear();
    for (const runner of runners) {
      await runner.then((r) => r.release()).catch(() => undefined);
    }
  }
}

/** Whether `manager`'s connections run in node-postgres pipeline mode (DATABASE_PIPELINE). */
function pipelined(manager: EntityManager): boolean {
  return (manager.connection.options as { extra?: { pipeline?: boolean } }).extra?.pipeline === true;
}

/**
 * TypeORM's `startTransaction`, with `statement` sent in the same message as its START TRANSACTION
 * (one round trip instead of two; every consumer run begins this way). TypeORM keeps its own
 * transaction state, so it still starts the transaction; its query is only extended for that one
 * call. Should TypeORM ever begin differently, the statement simply follows on its own.
 */
async function startWith(runner: QueryRunner, statement: string): Promise<void> {
  const query = runner.query.bind(runner);
  let sent = false;
  runner.query = ((sql: string, parameters?: unknown[]) => {
    if (sql !== 'START TRANSACTION' || sent) return query(sql, parameters);
    sent = true;
    return query(`START TRANSACTION; ${statement}`, parameters);
  }) as QueryRunner['query'];
  try {
    await runner.startTransaction();
  } finally {
    delete (runner as Partial<Pick<QueryRunner, 'query'>>).query; // the prototype's again
  }
  if (!sent) await runner.query(statement);
}
