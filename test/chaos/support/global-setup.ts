/* eslint-disable @typescript-eslint/no-require-imports */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaosBroker } from './broker';
import { buildApp } from './build';
import { freePortPair } from './ports';

/** Starts the suite's own broker and builds the app once; the scenarios share both. */
export default async function chaosSetup(): Promise<void> {
  const { ensurePostgres } = require('../../../scripts/infra');
  const databaseUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const pg = await ensurePostgres(databaseUrl);
  const broker = new ChaosBroker(Number(process.env.CHAOS_KAFKA_PORT || (await freePortPair())));
  broker.start(true);
  const app = buildApp();
  const work = mkdtempSync(join(tmpdir(), 'chaos-run-'));
  process.env.TEST_DATABASE_URL = databaseUrl;
  process.env.CHAOS_KAFKA_PORT = String(broker.port);
  process.env.CHAOS_APP_MAIN = app.main;
  process.env.CHAOS_APP_CWD = join(app.dir, 'app');
  process.env.CHAOS_WORK_DIR = work;
  process.env.CHAOS_RESULTS = join(work, 'results.jsonl');
  process.env.CHAOS_STARTED_AT = String(Date.now());
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  console.error(`\n[chaos] broker 127.0.0.1:${broker.port}, app build ${app.dir}, logs and results in ${work}`);
  (globalThis as Record<string, unknown>).__CHAOS__ = { broker, stopPg: pg.stop };
}
