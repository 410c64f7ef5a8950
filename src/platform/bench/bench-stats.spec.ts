import { LatencyHistogram } from './bench-stats';

/** The value at rank floor(q · n) of the sorted samples: what the histogram approximates. */
function exact(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

describe('LatencyHistogram', () => {
  it('gives p50 and p99 within 1 % of the exact ones and the exact max, over latencies spread from 0.1 ms to 10 s', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const samples = Array.from({ length: 50_000 }, () => 0.1 * Math.pow(10, 5 * random() * random()));
    const h = new LatencyHistogram();
    for (const s of samples) h.record(s);
    const { count, p50, p99, max } = h.summary();
    expect(count).toBe(samples.length);
    expect(Math.abs(p50 / exact(samples, 0.5) - 1)).toBeLessThan(0.01);
    expect(Math.abs(p99 / exact(samples, 0.99) - 1)).toBeLessThan(0.01);
    expect(max).toBe(Math.max(...samples));
  });

  it('answers 0 with no samples and for samples at or below zero (a clock step), and caps at the max', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toEqual({ count: 0, p50: 0, p99: 0, max: 0 });
    h.record(-3);
    h.record(0);
    h.record(5);
    expect(h.quantile(0.5)).toBe(0);
    expect(h.quantile(0.99)).toBeLessThanOrEqual(5);
    expect(h.quantile(0.99)).toBeGreaterThan(4.95);
  });
});
