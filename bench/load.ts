import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';

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
  /**
   * Requests per second over all connections (a fixed-rate run, evenly spaced: see runPaced); unset
   * for as fast as the connections go (autocannon, closed loop).
   */
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

/** A fresh order body and Idempotency-Key per request; a fixed rate is paced by us, not autocannon. */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  return opts.overallRate ? runPaced({ ...opts, overallRate: opts.overallRate }) : runAutocannon(opts);
}

/** Responses (ms each) bucketed by second, and the p50/p99 of them all. */
function summarizeLatencies(buckets: number[][], durationS: number): Pick<LoadResult, 'p50' | 'p99' | 'series'> {
  const series = Array.from({ length: Math.min(buckets.length, Math.ceil(durationS)) }, (_, t) => {
    const b = (buckets[t] ?? []).sort((x, y) => x - y);
    return { t, rps: b.length, p99: b.length ? b[Math.min(b.length - 1, Math.floor(b.length * 0.99))] : 0 };
  });
  const all = buckets.flat().sort((x, y) => x - y);
  const at = (q: number) => (all.length ? Math.round(all[Math.min(all.length - 1, Math.floor(all.length * q))]) : 0);
  return { p50: at(0.5), p99: at(0.99), series };
}

/**
 * Open-loop load at a fixed rate: request i is due at start + i/rate and is sent then, whatever the
 * earlier ones are doing (up to `connections` on the wire; the rest wait in the agent's queue), and
 * its latency is counted from when it was due. autocannon's `overallRate` sends each second's quota
 * back to back at the start of the second and times each request from when it went out: a burst of
 * `rate` orders once a second, and latencies that leave out the wait behind the burst.
 */
export async function runPaced(opts: LoadOptions & { overallRate: number }): Promise<LoadResult> {
  const target = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const interval = 1000 / opts.overallRate;
  const total = Math.round(opts.overallRate * opts.durationS);
  const buckets: number[][] = [];
  const inFlight = new Set<Promise<void>>();
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const start = performance.now();
  const send = (due: number) => {
    const body = orderBody();
    const done = new Promise<void>((resolve) => {
      const finish = (status?: number) => {
        if (status === undefined) errors++;
        else if (status >= 200 && status < 300) ok++;
        else non2xx++;
        const i = Math.floor((due - start) / 1000);
        (buckets[i] ??= []).push(performance.now() - due);
        resolve();
      };
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          timeout: 10_000,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'idempotency-key': `bench-${runId}-${seq}` },
        },
        (res) => res.resume().on('end', () => finish(res.statusCode)).on('error', () => finish()),
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => finish());
      req.end(body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) send(start + sent++ * interval);
    // Timers fire 1 ms apart at best: requests due within the same millisecond go out together.
    await new Promise((r) => setTimeout(r, Math.max(0, start + sent * interval - performance.now())));
  }
  // Bounded: each request times out after 10 s.
  await Promise.all(inFlight);
  agent.destroy();
  const elapsedS = (performance.now() - start) / 1000;
  return { label: opts.label, reqPerSec: ok / elapsedS, total, ok, non2xx, errors, ...summarizeLatencies(buckets, opts.durationS) };
}

/** autocannon against `url` (closed loop: each connection sends its next request on the answer). */
async function runAutocannon(opts: LoadOptions): Promise<LoadResult> {
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
  const { series } = summarizeLatencies(buckets, opts.durationS);
  return {
    label: opts.label,
    // Answered with 2xx only, as the paced runs count: a 429 or 503 is not throughput.
    reqPerSec: r['2xx'] / r.duration,
    total: r.requests.total,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors, // autocannon counts its timeouts among its errors already
    p50: r.latency.p50,
    p99: r.latency.p99,
    series,
  };
}
