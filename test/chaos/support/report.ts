import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ScenarioRow {
  order: number;
  scenario: string;
  sent: number;
  accepted: number;
  finalReached: number;
  duplicates: number;
  lost: number;
  recoverMs: number;
  durationMs: number;
  passed: boolean;
  note?: string;
}

export const SCENARIO_COUNT = 8;

/** Rows are appended by each scenario (one JSON line) and turned into the table at teardown. */
export function recordRow(row: ScenarioRow): void {
  const file = process.env.CHAOS_RESULTS;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

export function readRows(file: string): ScenarioRow[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ScenarioRow)
    .sort((a, b) => a.order - b.order);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function table(rows: ScenarioRow[]): string {
  const lines = [
    '| # | scenario | orders sent | accepted (201) | final states reached | duplicates | lost | time to recover | scenario time | result |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map(
      (r) =>
        `| ${r.order} | ${r.scenario} | ${r.sent} | ${r.accepted} | ${r.finalReached} | ${r.duplicates} | ${r.lost} | ${seconds(r.recoverMs)} | ${seconds(r.durationMs)} | ${r.passed ? 'pass' : `**FAIL**${r.note ? `: ${r.note}` : ''}`} |`,
    ),
  ];
  return lines.join('\n');
}

/** Writes docs/reliability.md when every scenario ran (a partial run only prints its table). */
export function writeReliabilityDoc(rows: ScenarioRow[], totalMs: number, root: string): boolean {
  if (rows.length < SCENARIO_COUNT) return false;
  const doc = `# Reliability: the chaos suite

Produced by \`npm run test:chaos\` on ${new Date().toISOString().slice(0, 10)} (${process.platform}, ${
    require('node:os').cpus().length
  } cores), in ${seconds(totalMs)}. Rewritten by every full run of that command.

Each scenario gets its own database and topic/group prefix on the suite's own single-node KRaft broker, runs
the app as a real child process (\`node\` on a transpiled snapshot of \`src/\`), puts a bounded load of orders on
it over HTTP (each order keeps its \`Idempotency-Key\` across retries, like a real client), injects the fault,
and then waits (bounded) until every invariant holds:

- every acknowledged (201) order exists and is CONFIRMED, REJECTED or CANCELLED; no stored order lacks a 201
  unless its client gave up;
- the warehouse handled each order exactly once: one reservation per order, CONFIRMED orders hold stock,
  closed ones do not, \`available + reserved\` equals the initial stock and \`reserved\` equals what RESERVED
  reservations hold, nothing negative;
- one mail per order event in \`email.sent_mails\` (placed, then one per status reached), none doubled;
- warehouse and analytics each handled exactly one \`order.placed\` per order (inbox);
- every outbox is empty and no DLQ holds a message, except the poison a scenario published itself.

*Lost* counts acknowledged orders not final plus effects that never happened; *duplicates* counts effects that
happened twice. *Time to recover* runs from the end of the fault (restart, reconnect, instance leaving, or the
end of the load when the fault is in the data) until every invariant holds.

${table(rows)}
`;
  writeFileSync(join(root, 'docs', 'reliability.md'), doc);
  return true;
}
