import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** A process's name and utime + stime, from /proc/<pid>/stat. */
function processTicks(pid: number | string): { name: string; ticks: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: Number(fields[11]) + Number(fields[12]) };
}

function cpuTicks(pid: number): number {
  return processTicks(pid).ticks;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export interface ProcessSample {
  t: number;
  rssMb: number;
  /** CPU of the process over the last interval, in % of one core. */
  cpuPct: number;
}

/** Samples a process's RSS and CPU once a second (Linux /proc), for the table and the soak. */
export class ProcSampler {
  readonly samples: ProcessSample[] = [];
  private timer?: NodeJS.Timeout;
  private lastTicks = 0;
  private lastAt = 0;
  private readonly t0 = Date.now();

  constructor(private readonly pid: number) {}

  start(intervalMs = 1000): this {
    this.lastTicks = cpuTicks(this.pid);
    this.lastAt = Date.now();
    this.timer = setInterval(() => this.sample(), intervalMs);
    return this;
  }

  private sample(): void {
    try {
      const ticks = cpuTicks(this.pid);
      const now = Date.now();
      const cpuPct = ((ticks - this.lastTicks) / TICKS_PER_S / ((now - this.lastAt) / 1000)) * 100;
      this.lastTicks = ticks;
      this.lastAt = now;
      this.samples.push({ t: (now - this.t0) / 1000, rssMb: rssBytes(this.pid) / 2 ** 20, cpuPct });
    } catch {
      this.stop(); // the process is gone
    }
  }

  /** Samples from `fromS` (seconds since start) on. */
  since(fromS: number): ProcessSample[] {
    return this.samples.filter((s) => s.t >= fromS);
  }

  get elapsedS(): number {
    return (Date.now() - this.t0) / 1000;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export function summarize(samples: ProcessSample[]): { rssMaxMb: number; rssLastMb: number; cpuAvgPct: number } {
  if (samples.length === 0) return { rssMaxMb: 0, rssLastMb: 0, cpuAvgPct: 0 };
  return {
    rssMaxMb: Math.max(...samples.map((s) => s.rssMb)),
    rssLastMb: samples[samples.length - 1].rssMb,
    cpuAvgPct: samples.reduce((a, s) => a + s.cpuPct, 0) / samples.length,
  };
}

/** Busy jiffies of the whole box (every core) since boot: /proc/stat less idle and iowait. */
function boxTicks(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return fields.slice(0, 8).reduce((a, b) => a + b, 0) - fields[3] - fields[4];
}

/** utime + stime of every process, by pid, with its name; processes that end between reads are skipped. */
function allTicks(): Map<number, { name: string; ticks: number }> {
  const out = new Map<number, { name: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      out.set(Number(entry), processTicks(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/** Cores busy (1 = one core for the whole window) of each part of the box over a window. */
export type BoxCpu = Record<'app' | 'postgres' | 'broker' | 'bench' | 'other' | 'box', number>;

/**
 * Where the box's CPU goes while a run lasts: the app, Postgres (every postgres process), the broker
 * (java), the bench process itself (the load tool) and the rest, from /proc at the start and end
 * of a window. A figure per order of every part tells a lever that moves work from the app into
 * Postgres from one that removes it.
 */
export class BoxSampler {
  private from?: { at: number; box: number; procs: Map<number, { name: string; ticks: number }> };

  constructor(private readonly appPids: number[]) {}

  start(): this {
    this.from = { at: Date.now(), box: boxTicks(), procs: allTicks() };
    return this;
  }

  stop(): BoxCpu {
    const from = this.from!;
    const procs = allTicks();
    const seconds = (Date.now() - from.at) / 1000;
    const cores = (ticks: number) => ticks / TICKS_PER_S / seconds;
    const parts: BoxCpu = { app: 0, postgres: 0, broker: 0, bench: 0, other: 0, box: cores(boxTicks() - from.box) };
    for (const [pid, { name, ticks }] of procs) {
      const part = this.appPids.includes(pid) ? 'app' : pid === process.pid ? 'bench' : name === 'postgres' ? 'postgres' : name === 'java' ? 'broker' : undefined;
      if (part) parts[part] += cores(ticks - (from.procs.get(pid)?.ticks ?? 0)); // a process started in the window counts whole
    }
    // The rest of the box, and the jiffies of processes that exited in the window (no /proc/<pid> left).
    parts.other = Math.max(0, parts.box - parts.app - parts.postgres - parts.broker - parts.bench);
    return parts;
  }
}

export interface HeapSample {
  t: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  /** Memory outside the V8 heap that V8 knows of (Buffers: socket reads, Kafka fetches). */
  externalMb: number;
}

const MB = 2 ** 20;

/**
 * The app's own memory figures (prom-client's process and heap metrics at /metrics) every
 * `intervalMs`: with RSS alone a soak cannot tell a growing heap (a leak) from buffers and code.
 */
export class HeapSampler {
  readonly samples: HeapSample[] = [];
  private timer?: NodeJS.Timeout;
  private readonly t0 = Date.now();

  constructor(private readonly metricsUrl: string) {}

  start(intervalMs = 10_000): this {
    this.timer = setInterval(() => void this.sample().catch(() => undefined), intervalMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async sample(): Promise<void> {
    const res = await fetch(this.metricsUrl);
    if (!res.ok) return; // shutting down
    const text = await res.text();
    const value = (name: string) => Number(new RegExp(`^${name} ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? NaN) / MB;
    const sample = {
      t: (Date.now() - this.t0) / 1000,
      rssMb: value('process_resident_memory_bytes'),
      heapUsedMb: value('nodejs_heap_size_used_bytes'),
      heapTotalMb: value('nodejs_heap_size_total_bytes'),
      externalMb: value('nodejs_external_memory_bytes'),
    };
    if (Object.values(sample).every(Number.isFinite)) this.samples.push(sample);
  }
}

/** Mean of each figure per minute of samples (the soak's "is it flat?" table). */
export function perMinute(samples: HeapSample[]): (HeapSample & { rssMaxMb: number; samples: number })[] {
  const minutes = new Map<number, HeapSample[]>();
  for (const s of samples) {
    const m = Math.floor(s.t / 60);
    minutes.set(m, [...(minutes.get(m) ?? []), s]);
  }
  const mean = (xs: HeapSample[], k: keyof HeapSample) => xs.reduce((a, x) => a + x[k], 0) / xs.length;
  return [...minutes].map(([m, xs]) => ({
    t: m,
    rssMb: mean(xs, 'rssMb'),
    rssMaxMb: Math.max(...xs.map((x) => x.rssMb)),
    heapUsedMb: mean(xs, 'heapUsedMb'),
    heapTotalMb: mean(xs, 'heapTotalMb'),
    externalMb: mean(xs, 'externalMb'),
    samples: xs.length,
  }));
}
