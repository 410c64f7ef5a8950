import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { query } from '../support/test-database';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { stopEmbeddedPostgres } = require('../../scripts/infra');

const ROOT = join(__dirname, '../..');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** `node scripts/dev-infra.js` (what `npm run start:dev` runs before the app): its exit code and stderr, or a timeout. */
function devInfra(env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/dev-infra.js'], { cwd: ROOT, env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dev-infra did not exit within ${timeoutMs} ms (the app would never start):\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('npm run start:dev without a Postgres (embedded fallback, real binaries)', () => {
  let port: number;
  let started = false;

  beforeAll(async () => {
    port = await freePort();
  });

  afterAll(() => {
    if (started) stopEmbeddedPostgres(port);
    rmSync(join(ROOT, '.cache/postgres', String(port)), { recursive: true, force: true });
  });

  it('starts an embedded Postgres that outlives the infra step, creates the database, and reuses it the next time', async () => {
    const env = { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/shop`, KAFKA_BROKERS: process.env.TEST_KAFKA_BROKERS! };
    const first = await devInfra(env, 120_000);
    started = first.stderr.includes('starting embedded Postgres');
    expect(first).toEqual({ code: 0, stderr: expect.stringContaining('starting embedded Postgres') });
    // The step has exited; the server it started still answers, with the app's database in it.
    expect(await query(`postgres://postgres@127.0.0.1:${port}/shop`, 'SELECT current_database() AS db')).toEqual([{ db: 'shop' }]);

    const second = await devInfra(env, 60_000);
    expect(second.code).toBe(0);
    expect(second.stderr).not.toContain('starting embedded Postgres');
  });
});
