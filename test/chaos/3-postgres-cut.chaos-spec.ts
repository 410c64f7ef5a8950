import { Client } from 'pg';
import { pause, Scenario } from './support/scenario';

/** Terminates every session on the scenario's database, again and again, for `ms` (the shared server is never restarted). */
async function cutConnections(databaseUrl: string, ms: number): Promise<number> {
  const admin = new URL(databaseUrl);
  const database = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  let terminated = 0;
  try {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const { rows } = await client.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [database],
      );
      terminated += rows.filter((r: { done: boolean }) => r.done).length;
      await pause(100);
    }
  } finally {
    await client.end();
  }
  return terminated;
}

describe('chaos 3: Postgres connections are cut mid-load', () => {
  let s: Scenario;

  afterAll(async () => {
    await s?.dispose();
  });

  it('recovers from every session being terminated for 5 s without losing or doubling anything', async () => {
    s = await Scenario.start('postgres-cut');
    const load = s.load({ count: 200, perSecond: 25 });
    await s.ordersFlowing(); // the load is running before the cut
    const terminated = await cutConnections(s.databaseUrl, 5000);
    const reconnected = Date.now();
    const crashedDuringCut = s.app.exit;
    const result = await load;
    const settled = await s.settle(result, reconnected, { timeoutMs: crashedDuringCut ? 20_000 : 120_000 });
    const crashed = s.app.exit;
    s.record(3, 'cut every Postgres connection for 5 s mid-load', result, settled,
      crashed ? `the app process died (${JSON.stringify(crashed)}): unhandled 'error' event on a pg Client, see the report` : undefined);
    expect(terminated).toBeGreaterThan(0);
    // The app must ride out lost connections: it is the only instance, nothing restarts it.
    expect({ appExited: crashed ?? null, log: s.app.settings.logFile }).toEqual({ appExited: null, log: s.app.settings.logFile });
    expect(settled.report.violations).toEqual([]);
  });
});
