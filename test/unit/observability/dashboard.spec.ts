import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaNaming } from '../../../src/platform/kafka/kafka-naming';
import { Metrics } from '../../../src/platform/observability/metrics';

describe('ops/grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(__dirname, '../../../ops/grafana/dashboards/shop-overview.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };

  it('queries only metric families the app exposes', async () => {
    const exposed = new Set((await new Metrics(new KafkaNaming()).registry.getMetricsAsJSON()).map((m) => m.name));
    const used = dashboard.panels
      .flatMap((p) => p.targets.map((t) => t.expr))
      .flatMap((expr) => expr.match(/\b(?:kafka|http|outbox|nodejs|process)_[a-z0-9_]+/g) ?? [])
      .map((name) => name.replace(/_(bucket|count|sum)$/, ''));
    expect(used.filter((name) => !exposed.has(name))).toEqual([]);
  });

  it('shows throughput, p99 latency, lag per group, outbox age and DLQ size', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const needed of ['kafka_events_consumed_total', 'histogram_quantile(0.99', 'kafka_consumer_lag', 'outbox_oldest_event_age_seconds', 'kafka_dlq_messages']) {
      expect(exprs).toContain(needed);
    }
  });

  it('never adds up a gauge every process running a module reports whole (group lag, outbox, DLQ): two replicas would show it twice', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    const uses = (e: string) => [...e.matchAll(/\b(kafka_consumer_lag|outbox_backlog_events|outbox_oldest_event_age_seconds|kafka_dlq_messages|kafka_dlq_pending_messages)\b/g)];
    // Every use of such a gauge is read through a max over the processes (by its own labels) first.
    const unwrapped = (e: string) => uses(e).filter((m) => !/max by \([^)]*\) \($/.test(e.slice(0, m.index)));
    expect(exprs.flatMap(uses).length).toBeGreaterThanOrEqual(4);
    expect(exprs.filter((e) => unwrapped(e).length > 0)).toEqual([]);
    // The check itself: a sum beside a max is caught.
    expect(unwrapped('max by (module) (outbox_backlog_events) + sum by (module) (kafka_dlq_messages)')).toHaveLength(1);
  });
});
