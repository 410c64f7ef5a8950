/**
 * npm run bench — the performance harness (docs/performance.md).
 *
 * Starts the app (BENCH_MODE=true) as a child process on its own database and topic prefix on the
 * broker at BENCH_KAFKA_BROKERS (default the dev broker 127.0.0.1:9092), then, in one run:
 *   1. no-op endpoint vs POST /orders under the same autocannon load (same bodies, unique keys);
 *   2. how long the four consumer groups take to drain the backlog after the load stops;
 *   3. end-to-end latency (envelope occurredAt -> each module's commit) at fixed, evenly paced order rates;
 *   4. consumer baselines: our transport vs raw kafkajs eachBatch vs Nest's stock ServerKafka.
 * Writes bench/results/<date>.md and .svg and prints the table. Load goes to 127.0.0.1 only,
 * bounded in time. Flags: --duration=S --warmup=S --connections=N --rate=N[,N...] (default 20,1000) --rate-duration=S
 * --consumer-messages=N --consumer-rounds=N --contenders=transport_runs,raw_runs --pool=N --partitions=N --concurrency=N --skip-consumers --consumers-only --full (60 s) --soak (10 min)
 * --idle=S (the app's CPU with no load, measured before the load; default 10, 0 skips)
 * --count-calls (Postgres statements and Kafka requests per answer, counted in the app; costs it some CPU)
 * --noop-only (the no-op endpoint alone: the HTTP stack's cost) --node=PATH (the app under another node binary) --profile (a CPU profile of each measured run in bench/results/tmp/, summed up in the log) --split (order | warehouse,email,analytics in two processes).
 */
import 'reflect-metadata';
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
import { Logger } from '@nestjs/common';
import { ChildProcess, execSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { Environment, validateEnvironment } from '../src/platform/config/environment';
import { createTestDatabase } from '../test/support/test-database';
import { BacklogProbe, eventsDone, isEmpty } from './backlog';
import { CallCounterMessage, CallCounts, noCalls } from './call-counter';
import { runConsumerBench } from './consumers';
import { BENCH_SKUS, LoadResult, runLoad } from './load';
import { LockWaitSampler } from './lock-waits';
import { ProfilerMessage, summarizeProfile } from './profiler';
import { BoxCpu, BoxSampler, HeapSample, HeapSampler, perMinute, ProcSampler, summarize } from './proc-sampler';
import { chart, median, table } from './report';

/** The idle window before the load: the app's own figures and the whole box's CPU. */
type Idle = ReturnType<typeof summarize> & { box: BoxCpu; calls?: CallCounts };

/** The app's end-to-end latency figures of one group and event (`GET /bench/stats`), in ms. */
interface EndToEnd {
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** Medians of the stages, for events handled in runs (they need not add up to the p50). */
  stagesP50?: { toKafka: number; toTransport: number; inRun: number };
}

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, '').split('='); // a value may hold '=' (--NODE_OPTIONS=--max-old-space-size=256)
    return [k, v.length > 0 ? v.join('=') : 'true'] as const;
  }),
);
const num = (k: string, d: number) => (args.has(k) ? Number(args.get(k)) : d);
const soak = args.has('soak');
const full = args.has('full');
const opts = {
  durationS: num('duration', soak ? 600 : full ? 60 : 15),
  warmupS: num('warmup', 5),
  connections: num('connections', 50),
  // Fixed rates (orders/s, comma list) for the end-to-end latency runs: one the box sustains, and the issue's.
  rates: args.has('rate') ? String(args.get('rate')).split(',').map(Number) : soak ? [1000] : [20, 1000],
  rateDurationS: num('rate-duration', soak ? 0 : 10),
  // The app's CPU with no load, after start-up and seeding: its timers, fetch long-polls and outbox polls.
  idleS: num('idle', 10),
  consumerMessages: num('consumer-messages', 10_000),
  // Alternated drains of the same backlog (fresh groups each round): the ratios' spread on a noisy box.
  consumerRounds: num('consumer-rounds', 1),
  drainTimeoutS: num('drain-timeout', 180),
  pool: num('pool', 10),
  partitions: num('partitions', 6),
  concurrency: num('concurrency', new Environment().KAFKA_PARTITIONS_CONCURRENCY),
  skipConsumers: args.has('skip-consumers') || args.has('noop-only') || soak,
  split: args.has('split'),
  consumersOnly: args.has('consumers-only'),
  // Only these consumer contenders (ids: transport, raw, transport_runs, raw_runs, raw_runs_claims, raw_batch, nest), e.g. to profile one.
  contenders: args.has('contenders') ? new Set(String(args.get('contenders')).split(',')) : undefined,
  noopOnly: args.has('noop-only'),
  countCalls: args.has('count-calls'),
  // The first N of the 50 SKUs seeded with no stock (a sold-out product still ordered: ~4 % of orders per SKU).
  soldOut: num('sold-out', 0),
  // A V8 CPU profile of each measured run, from its start until its orders are processed (bench/profiler.ts).
  profile: args.has('profile'),
  // The app under another node binary (e.g. a newer LTS beside this one): --node=/path/to/node.
  node: args.has('node') ? String(args.get('node')) : process.execPath,
  brokers: process.env.BENCH_KAFKA_BROKERS ?? '127.0.0.1:9092',
  extraEnv: Object.fromEntries([...args].filter(([k]) => /^[A-Z_]+$/.test(k))),
};
const ADMIN_TOKEN = 'bench-admin-token-1234567890';
/** The repository: this file runs from bench/ (ts-node) or from .cache/bench-build/bench/ (compiled). */
const ROOT = process.cwd();
const log = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The node flags of `npm start` (the V8 heap cap), so the app runs as it does in production. */
/** The version of the node binary the app runs under. */
function appNodeVersion(): string {
  return opts.node === process.execPath ? process.version : execSync(`"${opts.node}" --version`, { encoding: 'utf8' }).trim();
}

function startFlags(): string[] {
  const start: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start;
  return start.split(/\s+/).filter((a) => a.startsWith('--'));
}

async function startApp(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  // Compiled (npm run bench builds first), the app runs as `node dist/main` does in production;
  // from source (ts-node) it would carry ts-node's costs (its REPL support loads node:domain, which
  // slows every EventEmitter).
  const compiled = __filename.endsWith('.js');
  const child = fork(join(__dirname, compiled ? 'app.js' : 'app.ts'), [], {
    execPath: opts.node,
    env: { ...process.env, ...env },
    execArgv: [
      ...(compiled ? [] : ['-r', 'ts-node/register/transpile-only']),
      ...(env.NODE_OPTIONS ? [] : startFlags()),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url: string }) => resolve(m.url.replace('[::1]', '127.0.0.1')));
    child.once('exit', (code) => reject(new Error(`app exited with ${code} before listening`)));
  });
  return { child, url };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function pgCount(url: string, sql: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query(sql)).rows[0].n);
  } finally {
    await c.end();
  }
}

/**
 * A probe for `until`: true once the backlog is empty, mails delivered included; `events.at` gets the
 * time the events alone were done (outboxes and groups). Says every 10 s what is left, so the laggard shows.
 */
function drainedProbe(probe: BacklogProbe, events: { at?: number } = {}): () => Promise<true | undefined> {
  let said = Date.now();
  return async () => {
    const left = await probe.read();
    if (eventsDone(left)) events.at ??= Date.now();
    if (isEmpty(left)) return true;
    if (Date.now() - said >= 10_000) {
      said = Date.now();
      log(`    still waiting: outboxes ${left.outbox}, lag ${Object.entries(left.lag).map(([g, n]) => `${g} ${n}`).join(', ')}, mails ${left.mails}`);
    }
    return undefined;
  };
}

/** Shared consumer transactions given up (kafka_batch_fallbacks_total), per module and stage; handler time and run size per group. */
async function batchFallbacks(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found: Record<string, number> = {};
  for (const [, module, stage, n] of text.matchAll(/^kafka_batch_fallbacks_total\{module="(\w+)",stage="(\w+)"\} (\d+)/gm)) {
    found[`fallbacks ${module}/${stage}`] = Number(n);
  }
  // Mean time inside the handler per event (µs), by group and event type.
  const sums = new Map<string, number>();
  for (const [, module, type, v] of text.matchAll(/^kafka_handler_duration_seconds_sum\{module="(\w+)",type="([\w.]+)"\} ([\d.e+-]+)/gm)) sums.set(`${module}/${type}`, Number(v));
  for (const [, module, type, v] of text.matchAll(/^kafka_handler_duration_seconds_count\{module="(\w+)",type="([\w.]+)"\} (\d+)/gm)) {
    const key = `${module}/${type}`;
    if (Number(v) > 100 && sums.has(key)) found[`handler µs ${key}`] = Math.round((sums.get(key)! / Number(v)) * 1e6);
  }
  // Mean events per shared transaction (run), by group: small runs under a backlog mean per-run costs dominate.
  const events = new Map([...text.matchAll(/^kafka_run_events_sum\{module="(\w+)"\} ([\d.e+-]+)/gm)].map(([, m, v]) => [m, Number(v)]));
  for (const [, module, n] of text.matchAll(/^kafka_run_events_count\{module="(\w+)"\} (\d+)/gm)) {
    if (Number(n) > 0 && events.has(module)) found[`events per run ${module}`] = Math.round((events.get(module)! / Number(n)) * 10) / 10;
  }
  return found;
}

/** Drops the run's database and topics; also on failure. */
let cleanup: (() => Promise<void>) | undefined;

async function main(): Promise<void> {
  Logger.overrideLogger(['error', 'warn']);
  const startedAt = new Date();
  const loadBefore = loadavg();
  const db = await createTestDatabase('bench');
  const prefix = `bench${randomBytes(3).toString('hex')}.`;
  const kafka = new Kafka({ clientId: 'bench', brokers: opts.brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  log(`bench ${prefix} on ${opts.brokers}, database ${db.url}; load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);

  const backlog = new BacklogProbe(admin, prefix, db.url);
  cleanup = async () => {
    await backlog.close();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await db.drop();
  };
  const results: Record<string, LoadResult> = {};
  const procStats: Record<string, ReturnType<typeof summarize>> = {};
  const boxStats: Record<string, BoxCpu> = {};
  const calls: Record<string, CallCounts> = {};
  let drainS = -1;
  let mailsDrainS = -1;
  let consumerBench: Awaited<ReturnType<typeof runConsumerBench>> | undefined;
  const e2e: Record<number, Record<string, EndToEnd>> = {};
  let verify: Record<string, number> = {};
  /** Row-lock waits per module and table while POST /orders ran (mean connections waiting). */
  let lockWaits: [string, number][] = [];
  let idle: Idle | undefined;
  let memory: HeapSampler | undefined;
  if (!opts.consumersOnly) {
    const appEnv = async (modules?: string) => ({
      ...(modules ? { MODULES: modules } : {}),
      NODE_ENV: 'development',
      BENCH_MODE: 'true',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      DATABASE_URL: db.url,
      DATABASE_POOL_SIZE: String(opts.pool),
      KAFKA_BROKERS: opts.brokers,
      KAFKA_AUTOSTART_LOCAL: 'false',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: String(opts.partitions),
      KAFKA_PARTITIONS_CONCURRENCY: String(opts.concurrency),
      ADMIN_TOKEN,
      RATE_LIMIT_MAX: '1000000000',
      ...(opts.countCalls ? { BENCH_COUNT_CALLS: 'true' } : {}),
      ...(opts.profile ? { BENCH_PROFILE: 'true' } : {}),
      ...opts.extraEnv,
    });
    // --split: HTTP and the order module in one process, the three other groups in a second one
    // (what MODULES is for), so the second core does not idle behind one event loop.
    const apps = opts.split
      ? [await startApp(await appEnv('order')), await startApp(await appEnv('warehouse,email,analytics'))]
      : [await startApp(await appEnv())];
    const { child, url } = apps[0];
    const productsUrl = apps.at(-1)!.url; // the warehouse's admin API
    const onEvery = (path: string, init?: RequestInit) => Promise.all(apps.map((a) => fetch(`${a.url}${path}`, init)));
    // --count-calls: reset when a measured run starts, read once its orders are processed (after the drain).
    const countCalls = async (what: CallCounterMessage['callCounts']) =>
      sumCounts(await Promise.all(apps.map((a) => ask<CallCounts>(a.child, { callCounts: what }, 'callCounts'))));
    // --profile: the same window, one profile per process; the log says where each run's busy time went.
    const profileDir = join(ROOT, 'bench', 'results', 'tmp');
    const startProfiles = () => Promise.all(apps.map((a) => ask(a.child, { profile: 'start' } satisfies ProfilerMessage, 'profiled')));
    const stopProfiles = async (label: string) => {
      mkdirSync(profileDir, { recursive: true });
      for (const [i, app] of apps.entries()) {
        const file = join(profileDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}-${label.replace(/\W+/g, '-')}${apps.length > 1 ? `-app${i + 1}` : ''}.cpuprofile`);
        await ask(app.child, { profile: 'stop', file } satisfies ProfilerMessage, 'profiled');
        log(`  ${label}: profile ${file.slice(ROOT.length + 1)}${apps.length > 1 ? ` (app ${i + 1})` : ''}, ${summarizeProfile(JSON.parse(readFileSync(file, 'utf8')))}`);
      }
    };
    const sampler = new ProcSampler(child.pid!).start();
    memory = new HeapSampler(`${url}/metrics`).start(soak ? 10_000 : 2_000);
    try {
      for (const app of apps) await until('readiness', 90_000, async () => ((await fetch(`${app.url}/health/ready`)).ok ? true : undefined));
      // Products with stock enough for every run (but the --sold-out ones); the order module's catalogue replica learns them over Kafka.
      for (const [i, sku] of BENCH_SKUS.entries()) {
        const res = await fetch(`${productsUrl}/products`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
          body: JSON.stringify({ sku, name: `Bench ${sku}`, priceCents: 500 + i, stock: i < opts.soldOut ? 0 : 100_000_000 }),
        });
        if (!res.ok) throw new Error(`seeding ${sku}: ${res.status} ${await res.text()}`);
      }
      await until('catalogue replica', 60_000, async () =>
        (await pgCount(db.url, `SELECT count(*) AS n FROM orders.catalogue`)) >= BENCH_SKUS.length ? true : undefined,
      );
      if (opts.idleS > 0 && !soak) {
        // Measurement windows, not waits for a condition: 5 s for start-up's background compilation and
        // the seeding's events to settle, then the idle window itself.
        await sleep(5000);
        const from = sampler.elapsedS;
        const box = new BoxSampler(apps.map((a) => a.child.pid!)).start();
        if (opts.countCalls) await countCalls('reset');
        await sleep(opts.idleS * 1000);
        idle = { ...summarize(sampler.since(from)), box: box.stop(), ...(opts.countCalls && { calls: await countCalls('read') }) };
        if (idle.calls) logQueries('idle: queries per second', idle.calls, opts.idleS);
        log(`  idle: app CPU ${idle.cpuAvgPct.toFixed(1)} % of a core over ${opts.idleS} s; the box ${(idle.box.box * 100).toFixed(0)} % of a core`);
      }
      const phase = async (label: string, path: string, extra: Partial<Parameters<typeof runLoad>[0]> = {}) => {
        if (opts.warmupS > 0) await runLoad({ url: `${url}${path}`, label, connections: opts.connections, ...extra, durationS: opts.warmupS });
        await onEvery('/bench/reset', { method: 'POST' }); // end-to-end latencies of the measured run only
        if (opts.countCalls) await countCalls('reset');
        if (opts.profile) await startProfiles();
        const from = sampler.elapsedS;
        const waits = label.startsWith('POST /orders') && !extra.overallRate ? await LockWaitSampler.start(db.url) : undefined;
        const box = new BoxSampler(apps.map((a) => a.child.pid!)).start();
        const r = await runLoad({ url: `${url}${path}`, label, connections: opts.connections, durationS: opts.durationS, ...extra });
        boxStats[label] = box.stop();
        if (waits) lockWaits = await waits.stop();
        procStats[label] = summarize(sampler.since(from));
        results[label] = r;
        log(`  ${label}: ${r.reqPerSec.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`);
        return r;
      };

      // The end of a measured run's window: right after the load, or once its orders are processed.
      const readCalls = async (label: string) => {
        if (opts.profile) await stopProfiles(label);
        if (!opts.countCalls) return;
        calls[label] = await countCalls('read');
        logQueries(`${label}: queries per answer`, calls[label], results[label]?.ok || 1);
      };
      if (!soak) {
        await phase('no-op endpoint', '/bench/noop');
        await readCalls('no-op endpoint');
      }
      // --noop-only: the HTTP stack's own cost (adapter, guards, pipe, filters, logging, metrics), nothing else.
      if (!opts.noopOnly) {
        const orders = await phase(soak ? 'POST /orders (soak)' : 'POST /orders', '/orders', soak ? { overallRate: opts.rates[0] } : {});
        const stoppedAt = Date.now();
        // A backlog that does not drain in time is a result, not a crash: the report says so.
        const events: { at?: number } = {};
        const drained = await until('backlog drained', opts.drainTimeoutS * 1000, drainedProbe(backlog, events)).catch(
          () => false,
        );
        drainS = events.at !== undefined ? (events.at - stoppedAt) / 1000 : Number.POSITIVE_INFINITY;
        mailsDrainS = drained ? (Date.now() - stoppedAt) / 1000 : Number.POSITIVE_INFINITY;
        await readCalls(orders.label);
        log(
          `  backlog ${Number.isFinite(drainS) ? `back to 0 in ${drainS.toFixed(1)} s` : `not back to 0 within ${opts.drainTimeoutS} s`} after the load stopped (${orders.ok} orders accepted)` +
            `; every mail delivered ${drained ? `${mailsDrainS.toFixed(1)} s after` : `not within ${opts.drainTimeoutS} s`}`,
        );
        verify = {
          orders: await pgCount(db.url, `SELECT count(*) AS n FROM orders.orders`),
          pending: await pgCount(db.url, `SELECT count(*) AS n FROM orders.orders WHERE status = 'PENDING'`),
          reservations: await pgCount(db.url, `SELECT count(*) AS n FROM warehouse.reservations`),
          placedMails: await pgCount(db.url, `SELECT count(*) AS n FROM email.sent_mails WHERE kind = 'ORDER_PLACED'`),
          analyticsFacts: await pgCount(db.url, `SELECT count(*) AS n FROM analytics.order_facts`),
          // What the four inboxes hold (INBOX_RETENTION_MS / INBOX_PRUNE_INTERVAL_MS decide how much stays).
          inboxRows: await pgCount(db.url, `SELECT ${['orders', 'warehouse', 'email', 'analytics'].map((s) => `(SELECT count(*) FROM ${s}.inbox)`).join(' + ')} AS n`),
          ...Object.assign({}, ...(await Promise.all(apps.map((a) => batchFallbacks(a.url))))),
        };

        for (const rate of opts.rateDurationS > 0 ? opts.rates : []) {
          await phase(`POST /orders at ${rate}/s`, '/orders', { overallRate: rate, durationS: opts.rateDurationS, connections: 20 });
          await until('backlog drained', opts.drainTimeoutS * 1000, drainedProbe(backlog)).catch(
            () => log(`  backlog not back to 0 within ${opts.drainTimeoutS} s: latencies cover the events handled so far`),
          );
          await readCalls(`POST /orders at ${rate}/s`);
          e2e[rate] = {};
          for (const res of await onEvery('/bench/stats')) Object.assign(e2e[rate], ((await res.json()) as { endToEnd: Record<string, EndToEnd> }).endToEnd);
        }
      }
    } finally {
      sampler.stop();
      memory?.stop();
      for (const app of apps) {
        app.child.kill('SIGTERM');
        await new Promise((r) => app.child.once('exit', r));
      }
    }

  }

  if (!opts.skipConsumers) {
    log('consumer baselines');
    consumerBench = await runConsumerBench({
      brokers: opts.brokers,
      databaseUrl: db.url,
      prefix: `${prefix}c.`,
      messages: opts.consumerMessages,
      partitions: opts.partitions,
      concurrency: opts.concurrency,
      poolSize: opts.pool,
      // As the app reads it: its environment is this one plus the UPPER_CASE flags.
      pipeline: validateEnvironment({ ...process.env, ...opts.extraEnv }).DATABASE_PIPELINE,
      timeoutS: 90,
      only: opts.contenders,
      rounds: opts.consumerRounds,
      log,
    });
    for (const r of consumerBench.results) log(`  ${opts.consumerRounds > 1 ? `round ${r.round}: ` : ''}${r.label}: ${r.perSec.toFixed(0)}/s (${r.processed} in ${r.seconds.toFixed(1)} s, ${Math.round(r.cpuUsPerEvent)} µs CPU per event)`);
  }

  const loadAfter = loadavg();
  await cleanup();
  cleanup = undefined;

  const md = render({ startedAt, loadBefore, loadAfter, results, procStats, boxStats, calls, idle, drainS, mailsDrainS, e2e, verify, lockWaits, consumerBench, memory: memory?.samples ?? [] });
  const stamp = startedAt.toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const name = `${stamp}${soak ? '-soak' : ''}`;
  writeFileSync(join(dir, `${name}.svg`), chart(Object.values(results), `npm run bench ${startedAt.toISOString()}`));
  writeFileSync(join(dir, `${name}.md`), md.replace('CHART', `${name}.svg`));
  log('\n' + md.replace('CHART', `${name}.svg`));
  log(`written bench/results/${name}.md and .svg`);
  process.exit(0);
}

function render(r: {
  startedAt: Date;
  loadBefore: number[];
  loadAfter: number[];
  results: Record<string, LoadResult>;
  procStats: Record<string, ReturnType<typeof summarize>>;
  boxStats: Record<string, BoxCpu>;
  calls: Record<string, CallCounts>;
  idle?: Idle;
  drainS: number;
  mailsDrainS: number;
  e2e: Record<number, Record<string, EndToEnd>>;
  verify: Record<string, number>;
  lockWaits: [string, number][];
  consumerBench?: Awaited<ReturnType<typeof runConsumerBench>>;
  memory: HeapSample[];
}): string {
  const sha = (() => {
    try {
      return execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
    } catch {
      return '?';
    }
  })();
  const noop = r.results['no-op endpoint'];
  const httpRows = Object.values(r.results).map((x) => [
    x.label,
    x.reqPerSec,
    x.p50,
    x.p99,
    x.non2xx + x.errors,
    // A ratio only between closed-loop runs under the same load: a paced run's rate is the bench's.
    noop && !x.label.includes(' at ') ? `${(x.reqPerSec / noop.reqPerSec).toFixed(2)}×` : '–',
    r.procStats[x.label]?.rssMaxMb ?? 0,
    r.procStats[x.label]?.cpuAvgPct ?? 0,
    // The figure that moves least with a noisy box: the app's CPU per answer (for POST /orders
    // its consumers' work on the orders of the run too, most of which is done within it).
    r.procStats[x.label] && x.reqPerSec > 0 ? (r.procStats[x.label].cpuAvgPct * 10 / x.reqPerSec).toFixed(2) : '–',
  ]);
  const parts = [
    `# Bench ${r.startedAt.toISOString()}`,
    '',
    `commit ${sha}, node ${appNodeVersion()}${opts.node === process.execPath ? '' : ` for the app (${process.version} for the bench)`}, ${cpus().length} cores; load average before ${r.loadBefore.map((l) => l.toFixed(2)).join(' ')}, ` +
      `after ${r.loadAfter.map((l) => l.toFixed(2)).join(' ')} (shared machine: broker, Postgres, app and autocannon on the same cores).`,
    `Settings: ${opts.connections} connections, ${opts.durationS} s per run after ${opts.warmupS} s warm-up, ${opts.partitions} partitions, ` +
      `partitionsConsumedConcurrently ${opts.concurrency}, DATABASE_POOL_SIZE ${opts.pool}, app node flags ${opts.extraEnv.NODE_OPTIONS ?? (startFlags().join(' ') || 'none')}` +
      `${Object.keys(opts.extraEnv).length ? `, ${Object.entries(opts.extraEnv).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}` +
      `${opts.split ? '; split: MODULES=order (HTTP, sampled) and MODULES=warehouse,email,analytics in two processes' : ''}.`,
    '',
  ];
  if (r.idle) {
    parts.push(
      `App idle for ${opts.idleS} s (from 5 s after start-up and seeding), before any load: **${r.idle.cpuAvgPct.toFixed(1)} % of a core** ` +
        `(timers, fetch long-polls, outbox polls, metrics), RSS ${r.idle.rssMaxMb.toFixed(0)} MB.` +
        ` The whole box meanwhile: ${(r.idle.box.box * 100).toFixed(0)} % of a core (app ${(r.idle.box.app * 100).toFixed(0)}, ` +
        `Postgres ${(r.idle.box.postgres * 100).toFixed(0)}, broker ${(r.idle.box.broker * 100).toFixed(0)}, other ${(r.idle.box.other * 100).toFixed(0)}).` +
        (r.idle.calls ? ` The app sent, per second: ${perSecond(r.idle.calls, opts.idleS)}.` : ''),
      '',
    );
  }
  if (httpRows.length > 0) {
    const drained = opts.noopOnly
      ? ''
      : (Number.isFinite(r.drainS)
          ? `Backlog (4 outboxes + 4 groups' lag) back to 0 **${r.drainS.toFixed(1)} s** after the load stopped. `
          : `Backlog (4 outboxes + 4 groups' lag) **not back to 0 within ${opts.drainTimeoutS} s** after the load stopped. `) +
        (Number.isFinite(r.mailsDrainS)
          ? `Every mail delivered (email.sent_mails QUEUED or SENDING back to 0; the bench app has no SMTP_URL, so it delivers to its log) **${r.mailsDrainS.toFixed(1)} s** after. `
          : `Mails still undelivered ${opts.drainTimeoutS} s after the load stopped. `) +
        `Stored: ${Object.entries(r.verify).map(([k, v]) => `${k} ${v}`).join(', ')}.` +
        (r.lockWaits.length > 0
          ? `\n\nRow-lock waits while POST /orders ran (pg_stat_activity every 100 ms; mean connections of a group waiting, by table): ` +
            `${r.lockWaits.filter(([, n]) => n >= 0.005).map(([k, n]) => `${k} ${n.toFixed(2)}`).join(', ') || 'none'}.`
          : '');
    parts.push(
      '## HTTP: accept path against the no-op endpoint of the same app, same load',
      '',
      table(['run', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx + errors', 'vs no-op', 'app RSS max MB', 'app CPU % of a core', 'app CPU ms per answer'], httpRows),
      '',
      drained,
      '',
      `Where the box's CPU went in each run, in ms of CPU per answer (/proc at the run's start and end; Postgres is every ` +
        `postgres process, the broker every java one, the bench the load tool; other is the rest of the box's busy time):`,
      '',
      table(
        ['run', 'app', 'Postgres', 'broker', 'bench', 'other', 'whole box', 'cores busy'],
        Object.values(r.results)
          .filter((x) => r.boxStats[x.label] && x.reqPerSec > 0)
          .map((x) => {
            const b = r.boxStats[x.label];
            const per = (cores: number) => (cores * 1000 / x.reqPerSec).toFixed(2);
            return [x.label, per(b.app), per(b.postgres), per(b.broker), per(b.bench), per(b.other), per(b.box), b.box.toFixed(2)];
          }),
      ),
      '',
    );
  }
  if (Object.keys(r.calls).length > 0) {
    // Per answer: everything the app sent while the run's orders were handled.
    parts.push(
      'What the app sent per answer (`--count-calls`: counted in the app from the run\'s start until its orders were processed by every group; ' +
        'a query is one message to Postgres and may hold several statements):',
      '',
      table(
        ['run', 'Postgres queries', 'statements', 'by kind', 'Kafka requests', 'by API'],
        Object.values(r.results)
          .filter((x) => r.calls[x.label])
          .map((x) => {
            const [c, answers] = [r.calls[x.label], Math.max(1, x.ok)];
            const per = (n: number) => (n / answers).toFixed(1);
            return [x.label, per(c.pgQueries), per(total(c.pg)), byKind(c.pg, answers), per(total(c.kafka)), byKind(c.kafka, answers)];
          }),
      ),
      '',
    );
  }
  const minutes = perMinute(r.memory);
  // Full minutes only: the last bucket is a few samples taken as the load ends (or after it).
  const full = minutes.filter((m) => m.samples >= 0.8 * Math.max(...minutes.map((x) => x.samples)));
  if (minutes.length >= 3) {
    // The first two minutes are start-up, seeding and the ramp; flat means the last full minute is
    // where the third one was.
    const [third, last] = [full[2], full.at(-1)!];
    const drift = (k: 'rssMb' | 'heapUsedMb') => {
      const mb = Math.round(last[k] - third[k]) || 0; // never "-0"
      return `${mb >= 0 ? '+' : ''}${mb} MB`;
    };
    parts.push(
      '## App memory over time (per minute, from its /metrics)',
      '',
      table(
        ['minute', 'RSS mean MB', 'RSS max MB', 'heap used MB', 'heap total MB', 'external MB'],
        minutes.map((m) => [m.t + 1, m.rssMb.toFixed(0), m.rssMaxMb.toFixed(0), m.heapUsedMb.toFixed(0), m.heapTotalMb.toFixed(0), m.externalMb.toFixed(0)]),
      ),
      '',
      full.length >= 4
        ? `Last full minute (${last.t + 1}) against the third (${third.t + 1}): RSS ${drift('rssMb')}, heap used ${drift('heapUsedMb')}.`
        : 'Too few full minutes to say whether memory is flat.',
      '',
    );
  } else if (r.memory.length > 0) {
    const last = r.memory.at(-1)!;
    parts.push(
      `App memory at the last sample: RSS ${last.rssMb.toFixed(0)} MB, V8 heap used ${last.heapUsedMb.toFixed(0)} of ${last.heapTotalMb.toFixed(0)} MB, ` +
        `external ${last.externalMb.toFixed(0)} MB (max RSS seen ${Math.max(...r.memory.map((m) => m.rssMb)).toFixed(0)} MB).`,
      '',
    );
  }
  for (const [rate, e2e] of Object.entries(r.e2e)) {
    // The paced run sends on time, but what the app accepts may fall short: requests then wait in the
    // bench's queue before the app stamps occurredAt, and that wait is not in these figures.
    const paced = r.results[`POST /orders at ${rate}/s`];
    const achieved = paced ? paced.reqPerSec : undefined;
    const short = achieved !== undefined && achieved < 0.95 * Number(rate);
    parts.push(
      `## End to end at ${rate} orders/s (paced): envelope occurredAt → the module's commit`,
      '',
      achieved === undefined
        ? ''
        : short
          ? `**Not sustained: the app accepted ${achieved.toFixed(0)} orders/s of the ${rate} sent** (HTTP p50 ${paced!.p50.toFixed(0)} ms, ` +
            `p99 ${paced!.p99.toFixed(0)} ms from each request's due time). The rest waited in the bench's queue before the app stamped ` +
            'occurredAt, so the figures below leave that wait out: they are the latency of what was accepted, not at this rate.'
          : `Sustained: ${achieved.toFixed(0)} orders/s accepted.`,
      '',
      'Where the median went: occurredAt → Kafka timestamp (the rest of the writing transaction — for an event written by a consumer, ' +
        'the rest of its run — its commit and the relay), → the batch reaching the transport ' +
        "(broker, fetch, the consumer's queue), → the module's commit (the run: handlers, the run's earlier events, commit).",
      '',
      table(
        ['group, event', 'events', 'p50 ms', 'p99 ms', 'max ms', 'p50: to Kafka / to transport / in the run'],
        Object.entries(e2e)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => [k, v.count, v.p50, v.p99, v.max, v.stagesP50 ? [v.stagesP50.toKafka, v.stagesP50.toTransport, v.stagesP50.inRun].map((ms) => Math.round(ms)).join(' / ') : '–']),
      ),
      '',
    );
  }
  if (r.consumerBench) {
    const all = r.consumerBench.results;
    const rounds = Math.max(...all.map((c) => c.round));
    // One row per contender; with several rounds, medians, and each ratio taken within its round (a
    // round's contenders ran back to back), given as the median and range of those ratios.
    const byLabel = [...new Set(all.map((c) => c.id))].map((id) => {
      const mine = all.filter((c) => c.id === id);
      return { ...mine[0], perSec: median(mine.map((c) => c.perSec)), cpuUsPerEvent: median(mine.map((c) => c.cpuUsPerEvent)) };
    });
    const ratio = (a: { id: string }, bId?: string) => {
      if (a.id === bId) return '1.00×';
      const pairs = all.filter((c) => c.id === a.id).flatMap((c) => {
        const b = all.find((x) => x.id === bId && x.round === c.round);
        return b ? [c.perSec / b.perSec] : [];
      });
      if (pairs.length === 0) return '–';
      const spread = pairs.length > 1 ? ` (${Math.min(...pairs).toFixed(2)}-${Math.max(...pairs).toFixed(2)}, ${pairs.length} rounds)` : '';
      return `${median(pairs).toFixed(2)}×${spread}`;
    };
    parts.push(
      `## Consumers: draining ${opts.consumerMessages} order.placed events, same DB work per event (inbox row + effect row)${rounds > 1 ? `, ${rounds} alternated rounds (medians)` : ''}`,
      '',
      `Backlog written by a raw kafkajs producer (acks=all, batches of 1000) at ${r.consumerBench.producerPerSec.toFixed(0)} events/s. ` +
        '"Same work" is the raw kafkajs eachBatch consumer running the same statements in the same transactions. ' +
          'Every consumer runs in the bench process: its CPU per event (group join included) tells JavaScript from waiting.',
      '',
      table(
        ['consumer', 'events/s', 'vs raw eachBatch, same work', 'vs Nest stock ServerKafka', 'bench CPU µs per event'],
        byLabel.map((c) => [c.label, Math.round(c.perSec), ratio(c, c.sameWork), ratio(c, 'nest'), Math.round(c.cpuUsPerEvent)]),
      ),
      '',
    );
  }
  parts.push(`![throughput and p99 over time](CHART)`, '');
  return parts.join('\n');
}


/** The most frequent queries (by the start of their text), per `per` (answers, or seconds). */
function logQueries(what: string, c: CallCounts, per: number): void {
  const top = Object.entries(c.pgText).sort(([, a], [, b]) => b - a).slice(0, 30);
  log(`  ${what}, most frequent first:\n${top.map(([t, n]) => `    ${(n / per).toFixed(2)}  ${t}`).join('\n')}`);
}

/** Counts by kind divided by `per` (answers, or seconds), the most frequent first, those under 0.05 left out. */
function byKind(by: Record<string, number>, per: number): string {
  return Object.entries(by)
    .map(([k, n]) => [k, n / per] as const)
    .filter(([, r]) => r >= 0.05)
    .sort(([, a], [, b]) => b - a)
    .map(([k, r]) => `${k} ${r.toFixed(1)}`)
    .join(', ');
}

const total = (by: Record<string, number>) => Object.values(by).reduce((a, b) => a + b, 0);

/** Call counts as a rate: Postgres queries and Kafka requests per second, each by kind. */
function perSecond(c: CallCounts, seconds: number): string {
  return `Postgres ${(c.pgQueries / seconds).toFixed(1)} queries (${byKind(c.pg, seconds)}), Kafka ${(total(c.kafka) / seconds).toFixed(1)} requests (${byKind(c.kafka, seconds)})`;
}

/** Asks an app over its IPC channel (call counts, profiles) and waits for the answer carrying `key`. */
function ask<T = unknown>(child: ChildProcess, message: object, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not answer ${JSON.stringify(message)} (started without the flag?)`)), 30_000);
    const onMessage = (m: Record<string, unknown>) => {
      if (m?.[key] === undefined) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m[key] as T);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

function sumCounts(all: CallCounts[]): CallCounts {
  const sum = noCalls();
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
  };
  for (const c of all) {
    sum.pgQueries += c.pgQueries;
    add(sum.pg, c.pg);
    add(sum.pgText, c.pgText);
    add(sum.kafka, c.kafka);
  }
  return sum;
}

main().catch(async (e: unknown) => {
  console.error(e);
  await cleanup?.().catch(() => undefined);
  process.exit(1);
});
