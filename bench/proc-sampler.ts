import { readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
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
