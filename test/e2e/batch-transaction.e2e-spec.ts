import { DataSource } from 'typeorm';
import { BatchTransaction } from '../../src/platform/kafka/batch-transaction';
import { startPgProxy, PgProxy } from '../support/pg-proxy';
import { createTestDatabase } from '../support/test-database';

/** Runs `hooks` (key → statement) as the before-commit hooks of one shared run, recording when each starts and ends. */
async function runWith(ds: DataSource, hooks: [key: string, sql: string][], events: string[]): Promise<void> {
  const run = new BatchTransaction(1000);
  await run.run(async () => {
    const m = await run.manager(ds);
    for (const [key, sql] of hooks) {
      run.beforeCommit(m, key, () => null, async (manager) => {
        events.push(`${key} start`);
        await manager.query(sql, [key]);
        events.push(`${key} done`);
      });
    }
  });
  try {
    await run.commit();
  } catch (e) {
    await run.rollback();
    throw e;
  }
}

const insert = `INSERT INTO t (hook) SELECT $1::text FROM pg_sleep(0.05)`;

describe.each([true, false])('a run’s before-commit writes on real Postgres, pipeline %s', (pipeline) => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('batch');
    ds = new DataSource({ type: 'postgres', url: db.url, extra: { max: 2, pipeline } });
    await ds.initialize();
    await ds.query('CREATE TABLE t (n serial PRIMARY KEY, hook text NOT NULL)');
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  beforeEach(() => ds.query('TRUNCATE t'));

  it('writes the hooks in key order, each once, in one commit', async () => {
    const events: string[] = [];
    await runWith(ds, [['b', insert], ['c', insert], ['a', insert]], events);
    expect((await ds.query('SELECT hook FROM t ORDER BY n')).map((r: { hook: string }) => r.hook)).toEqual(['a', 'b', 'c']);
    if (pipeline) {
      // Every hook's statement is sent before the first is answered: one round trip for all.
      expect(events.slice(0, 3)).toEqual(['a start', 'b start', 'c start']);
    } else {
      expect(events).toEqual(['a start', 'a done', 'b start', 'b done', 'c start', 'c done']);
    }
  });

  it('keeps none of the writes when one hook fails, and leaves the connection usable', async () => {
    await expect(runWith(ds, [['a', insert], ['b', 'SELECT 1 / 0 WHERE $1::text IS NOT NULL'], ['c', insert]], [])).rejects.toThrow(/division by zero/);
    expect(await ds.query('SELECT hook FROM t')).toEqual([]);
    await runWith(ds, [['a', insert]], []);
    expect((await ds.query('SELECT hook FROM t')).map((r: { hook: string }) => r.hook)).toEqual(['a']);
  });
});

describe('a run whose COMMIT answer is lost', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: PgProxy;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('batchlost');
    // Through a TCP proxy that can cut the connection instead of passing COMMIT's answer on.
    proxy = await startPgProxy(db.url);
    ds = new DataSource({ type: 'postgres', url: proxy.url, extra: { max: 2 } });
    await ds.initialize();
    await ds.query('CREATE TABLE t (n serial PRIMARY KEY, hook text NOT NULL)');
  });

  afterAll(async () => {
    await ds?.destroy();
    await proxy?.close();
    await db?.drop();
  });

  /** One run writing `hook` (and, `failing`, a before-commit write that fails); what it told its callbacks. */
  async function runTelling(hook: string, failing = false): Promise<{ error?: unknown; told: string[] }> {
    const told: string[] = [];
    const run = new BatchTransaction(1000);
    await run.run(async () => {
      const m = await run.manager(ds);
      await m.query(`INSERT INTO t (hook) VALUES ($1)`, [hook]);
      if (failing) run.beforeCommit(m, 'fails', () => null, async (manager) => void (await manager.query('SELECT 1 / 0')));
      run.onCommit(() => told.push('committed'));
      run.onCommitUnknown(() => told.push('unknown'));
    });
    try {
      await run.commit();
      return { told };
    } catch (error) {
      await run.rollback();
      return { error, told };
    }
  }

  it('tells its commit-unknown callbacks, not its after-commit ones, and the write may be in', async () => {
    proxy.loseNextCommitAnswer('lost-commit-hook');
    const { error, told } = await runTelling('lost-commit-hook');
    expect(proxy.lost).toBe(1);
    expect(error).toBeDefined();
    expect(told).toEqual(['unknown']);
    // It was in: the server committed before the answer was cut.
    expect(await ds.query(`SELECT hook FROM t WHERE hook = 'lost-commit-hook'`)).toEqual([{ hook: 'lost-commit-hook' }]);
  });

  it('tells neither when the run fails before its COMMIT, and only the after-commit ones when it commits', async () => {
    const failed = await runTelling('fails', true);
    expect(String(failed.error)).toContain('division by zero');
    expect(failed.told).toEqual([]);
    expect(await runTelling('fine')).toEqual({ told: ['committed'] });
  });
});
