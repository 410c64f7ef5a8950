import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

function serverUrl(database: string): string {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${database}`;
  return url.toString();
}

/** A database of its own for one suite (so suites run in any order, and a developer's data is never touched). */
export async function createTestDatabase(label = 'e2e'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `shop_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  return {
    url: serverUrl(name),
    drop: async () => {
      const c = new Client({ connectionString: serverUrl('postgres') });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Runs one query against a test database (for assertions on what a module stored). */
export async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}
