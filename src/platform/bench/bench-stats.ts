import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { KafkaRegistry } from '../kafka/kafka-registry';
import { LatencyStages, TransportObserver } from '../kafka/transport-observer';
import { ModuleName } from '../config/environment';

/**
 * Latency samples in fixed logarithmic buckets (1 % wide, from 0.01 ms to ~3 h): percentiles within
 * 0.5 % and the exact max, in constant memory however long the run (a 10-minute soak records
 * millions of samples; keeping them all grew the app's heap by ~3 MB a minute).
 */
export class LatencyHistogram {
  private static readonly FLOOR_MS = 0.01;
  private static readonly GROWTH = Math.log(1.01);
  private readonly buckets = new Float64Array(2100);
  private n = 0;
  private maxMs = 0;

  record(ms: number): void {
    const i = ms <= LatencyHistogram.FLOOR_MS ? 0 : Math.min(this.buckets.length - 1, 1 + Math.floor(Math.log(ms / LatencyHistogram.FLOOR_MS) / LatencyHistogram.GROWTH));
    this.buckets[i]++;
    this.n++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get count(): number {
    return this.n;
  }

  /** The value at rank floor(q · count) of the sorted samples, to within its bucket (the middle of it). */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.min(this.n - 1, Math.floor(q * this.n));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen > rank) return i === 0 ? 0 : Math.min(this.maxMs, LatencyHistogram.FLOOR_MS * Math.exp((i - 0.5) * LatencyHistogram.GROWTH));
    }
    return this.maxMs;
  }

  summary(): { count: number; p50: number; p99: number; max: number } {
    return { count: this.n, p50: this.quantile(0.5), p99: this.quantile(0.99), max: this.maxMs };
  }
}

/**
 * End-to-end latency per module and event type (envelope `occurredAt` to the module's commit),
 * collected as an observer of the transport while BENCH_MODE is on; the bench reads and resets it.
 */
@Injectable()
export class BenchStats implements TransportObserver, OnModuleInit {
  private samples = new Map<string, LatencyHistogram>();
  /** The stages of the samples above that have them (events handled in runs), under the same keys. */
  private stages = new Map<string, { toKafka: LatencyHistogram; toTransport: LatencyHistogram; inRun: LatencyHistogram }>();
  private handledCount = new Map<ModuleName, number>();

  constructor(@Inject(KafkaRegistry) private readonly registry: KafkaRegistry) {}

  onModuleInit(): void {
    this.registry.addObserver(this);
  }

  endToEnd(module: ModuleName, type: string, ms: number, stages?: LatencyStages): void {
    const key = `${module} ${type}`;
    let all = this.samples.get(key);
    if (!all) this.samples.set(key, (all = new LatencyHistogram()));
    all.record(ms);
    if (!stages) return;
    let parts = this.stages.get(key);
    if (!parts) this.stages.set(key, (parts = { toKafka: new LatencyHistogram(), toTransport: new LatencyHistogram(), inRun: new LatencyHistogram() }));
    parts.toKafka.record(stages.toKafka);
    parts.toTransport.record(stages.toTransport);
    parts.inRun.record(ms - stages.toKafka - stages.toTransport);
  }

  handled(module: ModuleName): void {
    this.handledCount.set(module, (this.handledCount.get(module) ?? 0) + 1);
  }

  failed(): void {}
  deadLettered(): void {}
  published(): void {}

  reset(): void {
    this.samples = new Map();
    this.stages = new Map();
    this.handledCount = new Map();
  }

  snapshot() {
    return {
      endToEnd: Object.fromEntries(
        [...this.samples].map(([k, v]) => {
          const parts = this.stages.get(k);
          const p50 = (h: LatencyHistogram) => h.quantile(0.5);
          return [k, { ...v.summary(), ...(parts && { stagesP50: { toKafka: p50(parts.toKafka), toTransport: p50(parts.toTransport), inRun: p50(parts.inRun) } }) }];
        }),
      ),
      handled: Object.fromEntries(this.handledCount),
      rssBytes: process.memoryUsage().rss,
      cpu: process.cpuUsage(),
      uptimeS: process.uptime(),
    };
  }
}
