import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { KafkaRegistry } from '../kafka/kafka-registry';
import { LatencyStages, TransportObserver } from '../kafka/transport-observer';
import { ModuleName } from '../config/environment';

/** Percentiles of a sample set (sorted copy; samples are bounded). */
export function percentiles(samples: number[]): { count: number; p50: number; p99: number; max: number } {
  if (samples.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

const MAX_SAMPLES = 500_000;

/**
 * End-to-end latency per module and event type (envelope `occurredAt` to the module's commit),
 * collected as an observer of the transport while BENCH_MODE is on; the bench reads and resets it.
 */
@Injectable()
export class BenchStats implements TransportObserver, OnModuleInit {
  private samples = new Map<string, number[]>();
  /** The stages of the samples above that have them (events handled in runs), under the same keys. */
  private stages = new Map<string, { toKafka: number[]; toTransport: number[]; inRun: number[] }>();
  private handledCount = new Map<ModuleName, number>();

  constructor(@Inject(KafkaRegistry) private readonly registry: KafkaRegistry) {}

  onModuleInit(): void {
    this.registry.addObserver(this);
  }

  endToEnd(module: ModuleName, type: string, ms: number, stages?: LatencyStages): void {
    const key = `${module} ${type}`;
    let list = this.samples.get(key);
    if (!list) this.samples.set(key, (list = []));
    if (list.length >= MAX_SAMPLES) return;
    list.push(ms);
    if (!stages) return;
    let parts = this.stages.get(key);
    if (!parts) this.stages.set(key, (parts = { toKafka: [], toTransport: [], inRun: [] }));
    parts.toKafka.push(stages.toKafka);
    parts.toTransport.push(stages.toTransport);
    parts.inRun.push(ms - stages.toKafka - stages.toTransport);
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
          const p50 = (xs: number[]) => percentiles(xs).p50;
          return [k, { ...percentiles(v), ...(parts && { stagesP50: { toKafka: p50(parts.toKafka), toTransport: p50(parts.toTransport), inRun: p50(parts.inRun) } }) }];
        }),
      ),
      handled: Object.fromEntries(this.handledCount),
      rssBytes: process.memoryUsage().rss,
      cpu: process.cpuUsage(),
      uptimeS: process.uptime(),
    };
  }
}
