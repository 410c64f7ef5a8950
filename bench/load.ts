import { randomBytes } from 'node:crypto';

// autocannon ships no types; this is the part of its API the bench uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => AutocannonInstance;

interface AutocannonInstance {
  on(event: 'tick', cb: (t: { counter: number }) => void): void;
  on(event: 'response', cb: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  then: Promise<AutocannonResult>['then'];
  stop(): void;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  '2xx': number;
  duration: number;
}

export interface LoadResult {
  label: string;
  reqPerSec: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  /** One entry per second: responses and their p99 (ms). */
  series: { t: number; rps: number; p99: number }[];
}

export interface LoadOptions {
  url: string;
  label: string;
  connections: number;
  durationS: number;
  /** Requests per second over all connections (a fixed-rate run); unset for as fast as possible. */
  overallRate?: number;
}

const SKUS = Array.from({ length: 50 }, (_, i) => `BENCH-${String(i).padStart(3, '0')}`);
export const BENCH_SKUS = SKUS;

let seq = 0;
const runId = randomBytes(3).toString('hex');

/** A realistic POST /orders body: a customer and two distinct SKUs, 1-3 of each. */
export function orderBody(): string {
  const n = seq++;
  const a = SKUS[n % SKUS.length];
  const b = SKUS[(n * 7 + 3) % SKUS.length] === a ? SKUS[(n + 1) % SKUS.length] : SKUS[(n * 7 + 3) % SKUS.length];
  return JSON.stringify({
    customerEmail: `customer${n}@example.com`,
    items: [
      { sku: a, quantity: 1 + (n % 3) },
      { sku: b, quantity: 1 + ((n >> 2) % 3) },
    ],
  });
}

/** Runs autocannon against `url` with a fresh order body and Idempotency-Key per request. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const buckets: number[][] = [];
  const instance = autocannon({
    url: opts.url,
    method: 'POST',
    connections: opts.connections,
    duration: opts.durationS,
    overallRate: opts.overallRate,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          headers: { 'content-type': 'application/json', 'idempotency-key': `bench-${runId}-${seq}` },
          body: orderBody(),
        }),
      },
    ],
  });
  instance.on('response', (_c, _s, _b, ms) => {
    const i = Math.floor((Date.now() - started) / 1000);
    (buckets[i] ??= []).push(ms);
  });
  const r = await instance;
  const series = Array.from({ length: Math.min(buckets.length, Math.ceil(opts.durationS)) }, (_, t) => {
    const b = (buckets[t] ?? []).sort((x, y) => x - y);
    return { t, rps: b.length, p99: b.length ? b[Math.min(b.length - 1, Math.floor(b.length * 0.99))] : 0 };
  });
  return {
    label: opts.label,
    reqPerSec: r.requests.total / r.duration,
    total: r.requests.total,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    p50: r.latency.p50,
    p99: r.latency.p99,
    series,
  };
}
