import { Client } from 'pg';

/**
 * Which consumer groups wait on row locks while a load runs: `pg_stat_activity` of the bench's
 * database every 100 ms, on a connection of its own. Per module (`application_name` shop:<module>;
 * the relays' own connections left out) and table, the mean number of its connections waiting on a
 * lock — the analytics group's topic streams waiting on each other's order facts showed this way.
 */
export class LockWaitSampler {
  private samples = 0;
  private readonly waits = new Map<string, number>();
  private stopped = false;
  private loop?: Promise<void>;

  private constructor(private readonly client: Client) {}

  static async start(databaseUrl: string, intervalMs = 100): Promise<LockWaitSampler> {
    const client = new Client({ connectionString: databaseUrl, application_name: 'bench:lock-waits' });
    await client.connect();
    const sampler = new LockWaitSampler(client);
    sampler.loop = sampler.run(intervalMs);
    return sampler;
  }

  private async run(intervalMs: number): Promise<void> {
    while (!this.stopped) {
      const { rows } = await this.client.query<{ app: string; query: string }>(
        `SELECT application_name AS app, query FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name ~ '^shop:[a-z]+$'`,
      );
      this.samples++;
      for (const { app, query } of rows) {
        const table = /"[a-z_]+"\.([a-z_]+)/.exec(query)?.[1] ?? '?';
        const key = `${app.slice('shop:'.length)} ${table}`;
        this.waits.set(key, (this.waits.get(key) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** Mean connections waiting per `module table`, most first. */
  async stop(): Promise<[string, number][]> {
    this.stopped = true;
    await this.loop;
    await this.client.end();
    return [...this.waits].map(([k, n]): [string, number] => [k, n / Math.max(1, this.samples)]).sort((a, b) => b[1] - a[1]);
  }
}
