import { join } from 'node:path';
import { ChaosBroker } from './broker';
import { readRows, table, writeReliabilityDoc } from './report';

/** Stops the suite's broker, prints the table, and keeps it in docs/reliability.md after a full run. */
export default async function chaosTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__CHAOS__ as { broker: ChaosBroker; stopPg?: () => Promise<void> } | undefined;
  if (state && !process.env.KEEP_CHAOS_KAFKA) state.broker.stop();
  await state?.stopPg?.();
  const rows = readRows(process.env.CHAOS_RESULTS ?? '');
  const totalMs = Date.now() - Number(process.env.CHAOS_STARTED_AT ?? Date.now());
  console.log(`\nChaos suite (${(totalMs / 1000).toFixed(0)} s; logs in ${process.env.CHAOS_WORK_DIR})\n\n${table(rows)}\n`);
  if (writeReliabilityDoc(rows, totalMs, join(__dirname, '..', '..', '..'))) console.log('written to docs/reliability.md');
}
