import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource, MigrationInterface } from 'typeorm';
import { Environment } from '../../src/platform/config/environment';

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

/**
 * A test database holding one module's schema, migrated, and a small TypeORM pool on it: for
 * tests that drive a module's SQL directly (locks, races, what a run writes) without the app.
 */
export async function createModuleDatabase(
  label: string,
  schema: string,
  migrations: (new () => MigrationInterface)[],
): Promise<{ url: string; dataSource: DataSource; drop: () => Promise<void> }> {
  const db = await createTestDatabase(label);
  // Pipelined as the app's pools are by default (DATABASE_PIPELINE).
  const dataSource = new DataSource({ type: 'postgres', url: db.url, extra: { max: 4, pipeline: new Environment().DATABASE_PIPELINE } });
  await dataSource.initialize();
  await dataSource.query(`CREATE SCHEMA "${schema}"`);
  const runner = dataSource.createQueryRunner();
  for (const Migration of migrations) await new Migration().up(runner);
  await runner.release();
  return {
    url: db.url,
    dataSource,
    drop: async () => {
      await dataSource.destroy();
      await db.drop();
    },
  };
}
