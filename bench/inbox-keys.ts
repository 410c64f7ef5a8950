// Inbox claims against a large inbox, keyed by random (v4) and by time-ordered (v7) event ids
// (`npm run bench:inbox-keys -- [--rows=N] [--seconds=S] [--rounds=R] [--batch=B] [--prune-keep-ms=MS]`).
//
// Every consumer run looks its events up in its module's inbox and writes their rows before it
// commits (src/platform/kafka/inbox.ts). The inbox keeps a row per event and handler, so it grows
// by millions of rows a day under load, and its primary key index soon outgrows shared_buffers.
// This fills two inboxes of the same size, one with random ids and one with ids ordered by time, and
// then claims new events in both through the app's own Inbox and BatchTransaction, in alternated
// rounds that each start after a checkpoint (as the server's steady state does every few minutes).
// Figures are ratios within the run; the machine is shared and noisy. With --prune-keep-ms, the app's
// InboxPruner then deletes the time-ordered inbox's rows older than that (the fill puts one event per
// millisecond up to now), and the bench prints how fast.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventEnvelope } from '../src/contracts';
import { Environment } from '../src/platform/config/environment';
import { createMessagingTables } from '../src/platform/database/messaging-tables';
import { uuidV7 } from '../src/platform/database/uuid-v7';
import { BatchTransaction } from '../src/platform/kafka/batch-transaction';
import { Inbox } from '../src/platform/kafka/inbox';
import { InboxPruner } from '../src/platform/kafka/inbox-pruner';
import { createTestDatabase } from '../test/support/test-database';
import { median } from './report';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const opts = { rows: arg('rows', 3_000_000), seconds: arg('seconds', 10), rounds: arg('rounds', 4), batch: arg('batch', 20), pruneKeepMs: arg('prune-keep-ms', 0) };

/** The two contenders: how the fill makes ids in SQL, and how a run makes new ones. */
const KINDS = {
  v4: { fill: 'gen_random_uuid()', next: randomUUID },
  // One id per millisecond up to now, in the layout of uuidV7: time, version 7, variant 10, random.
  v7: {
    fill: `overlay(overlay(overlay(md5(random()::text) placing lpad(to_hex(start_ms + g), 12, '0') from 1) placing '7' from 13)
             placing substr('89ab', 1 + (g % 4)::int, 1) from 17)::uuid`,
    next: () => uuidV7(),
  },
} as const;
type Kind = keyof typeof KINDS;

const HANDLER = 'OnOrderPlaced';
const envelopeOf = (eventId: string): EventEnvelope => ({
  eventId,
  type: 'order.placed',
  version: 1,
  occurredAt: new Date().toISOString(),
  key: eventId,
  correlationId: eventId,
  causationId: eventId,
  producer: 'order',
  payload: {},
});

async function fill(ds: DataSource, kind: Kind): Promise<void> {
  const runner = ds.createQueryRunner();
  await ds.query(`CREATE SCHEMA inbox_${kind}`);
  await createMessagingTables(runner, `inbox_${kind}`);
  await runner.release();
  const chunk = 1_000_000;
  const started = Date.now();
  for (let from = 1; from <= opts.rows; from += chunk) {
    const to = Math.min(opts.rows, from + chunk - 1);
    await ds.query(
      `INSERT INTO inbox_${kind}.inbox (event_id, handler, type, correlation_id, handled_at)
       SELECT ${KINDS[kind].fill}, $1, 'order.placed', 'fill', to_timestamp((start_ms + g) / 1000.0)
       FROM generate_series($2::bigint, $3::bigint) g, (SELECT (extract(epoch FROM now()) * 1000)::bigint - $4::bigint AS start_ms) s`,
      [HANDLER, from, to, opts.rows],
    );
  }
  await ds.query(`VACUUM ANALYZE inbox_${kind}.inbox`);
  const [{ size }] = await ds.query(`SELECT pg_size_pretty(pg_relation_size('inbox_${kind}.inbox_pkey')) AS size`);
  console.log(`filled inbox_${kind}: ${opts.rows.toLocaleString('en')} rows in ${((Date.now() - started) / 1000).toFixed(0)} s, primary key ${size}`);
}

/** Claims new events in runs of `opts.batch` for `opts.seconds`: claims per second, WAL bytes and index blocks read per claim. */
async function round(ds: DataSource, kind: Kind): Promise<{ perSecond: number; walPerClaim: number; blocksReadPerClaim: number }> {
  const inbox = new Inbox(`inbox_${kind}`, ds);
  const blocksRead = async () =>
    Number((await ds.query(`SELECT idx_blks_read AS n FROM pg_statio_user_indexes WHERE schemaname = $1 AND indexrelname = 'inbox_pkey'`, [`inbox_${kind}`]))[0].n);
  await ds.query('CHECKPOINT');
  const [{ lsn }] = await ds.query('SELECT pg_current_wal_lsn() AS lsn');
  const read0 = await blocksRead();
  let claims = 0;
  const started = performance.now();
  const end = started + opts.seconds * 1000;
  while (performance.now() < end) {
    const ids = Array.from({ length: opts.batch }, KINDS[kind].next);
    const run = new BatchTransaction(1000, ids);
    await run.run(async () => {
      for (const id of ids) if (await inbox.once(envelopeOf(id), HANDLER, async () => undefined)) claims++;
    });
    await run.commit();
  }
  const seconds = (performance.now() - started) / 1000;
  const [{ wal }] = await ds.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS wal', [lsn]);
  return { perSecond: claims / seconds, walPerClaim: Number(wal) / claims, blocksReadPerClaim: ((await blocksRead()) - read0) / claims };
}

/** One sweep of the app's pruner over the time-ordered inbox, with a fixed horizon. */
async function prune(ds: DataSource): Promise<void> {
  const pruner = new InboxPruner(
    ds,
    { topics: () => ({ consumed: [], deadLetter: '', redrive: '' }), retention: async () => new Map() }, // no topics to ask: the fixed horizon decides
    { module: 'order', schema: 'inbox_v7', intervalMs: 0, retentionMs: opts.pruneKeepMs, retryDelaysMs: [] },
  );
  const started = performance.now();
  const deleted = await pruner.pruneOnce();
  const seconds = (performance.now() - started) / 1000;
  const [{ left }] = await ds.query('SELECT count(*)::int AS left FROM inbox_v7.inbox');
  console.log(`\npruned inbox_v7 to ${opts.pruneKeepMs} ms: ${deleted.toLocaleString('en')} rows in ${seconds.toFixed(1)} s (${(deleted / seconds).toFixed(0)} rows/s), ${left.toLocaleString('en')} left`);
}

async function main(): Promise<void> {
  const db = await createTestDatabase('inboxkeys');
  const ds = new DataSource({ type: 'postgres', url: db.url, extra: { max: 2, pipeline: new Environment().DATABASE_PIPELINE } });
  try {
    await ds.initialize();
    for (const kind of Object.keys(KINDS) as Kind[]) await fill(ds, kind);
    const results: Record<Kind, Awaited<ReturnType<typeof round>>[]> = { v4: [], v7: [] };
    for (let r = 0; r < opts.rounds; r++) {
      for (const kind of (r % 2 === 0 ? ['v4', 'v7'] : ['v7', 'v4']) as Kind[]) {
        const res = await round(ds, kind);
        results[kind].push(res);
        console.log(`round ${r + 1} ${kind}: ${res.perSecond.toFixed(0)} claims/s, ${res.walPerClaim.toFixed(0)} WAL bytes/claim, ${res.blocksReadPerClaim.toFixed(2)} index blocks read/claim`);
      }
    }
    const m = (kind: Kind, f: keyof Awaited<ReturnType<typeof round>>) => median(results[kind].map((x) => x[f]));
    console.log(`\n| inbox of ${opts.rows.toLocaleString('en')} rows, runs of ${opts.batch} (median of ${opts.rounds} alternated rounds of ${opts.seconds} s) | claims/s | WAL bytes/claim | index blocks read/claim |`);
    console.log('| --- | --- | --- | --- |');
    for (const kind of Object.keys(KINDS) as Kind[]) {
      const ratio = kind === 'v4' ? 'baseline' : `${(m('v7', 'perSecond') / m('v4', 'perSecond')).toFixed(2)}×`;
      console.log(`| ${kind === 'v4' ? 'random ids (v4, before)' : 'time-ordered ids (v7, now)'} | ${m(kind, 'perSecond').toFixed(0)} (${ratio}) | ${m(kind, 'walPerClaim').toFixed(0)} | ${m(kind, 'blocksReadPerClaim').toFixed(2)} |`);
    }
    if (opts.pruneKeepMs > 0) await prune(ds);
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await db.drop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
