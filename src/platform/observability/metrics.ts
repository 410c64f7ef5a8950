import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EVENTS, isEventType } from '../../contracts';
import { ModuleName } from '../config/environment';
import { KafkaNaming } from '../kafka/kafka-naming';
import { TransportObserver } from '../kafka/transport-observer';

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The process's Prometheus metrics, in a registry of its own (several apps can share one test
 * process). It is the TransportObserver of the Kafka plumbing. Every label is bounded: routes
 * are templates, topics and types come from contracts, codes from the transport's fixed set.
 */
@Injectable()
export class Metrics implements TransportObserver {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route template and status.',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency, by route template and status.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly produced = new Counter({
    name: 'kafka_events_produced_total',
    help: 'Events the outbox relay of a module published, by topic.',
    labelNames: ['module', 'topic'] as const,
    registers: [this.registry],
  });
  readonly consumed = new Counter({
    name: 'kafka_events_consumed_total',
    help: 'Events a module consumed, by topic and outcome (handled or dead_lettered).',
    labelNames: ['module', 'topic', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly handlerDuration = new Histogram({
    name: 'kafka_handler_duration_seconds',
    help: 'Time to handle one event, retries included, by module and event type.',
    labelNames: ['module', 'type'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly handlerErrors = new Counter({
    name: 'kafka_handler_errors_total',
    help: 'Failed handler attempts, by module and event type.',
    labelNames: ['module', 'type'] as const,
    registers: [this.registry],
  });
  readonly handlerRetries = new Counter({
    name: 'kafka_handler_retries_total',
    help: 'Failed handler attempts that are tried again in place.',
    labelNames: ['module', 'type'] as const,
    registers: [this.registry],
  });
  readonly batchFallbacks = new Counter({
    name: 'kafka_batch_fallbacks_total',
    help: 'Shared consumer transactions rolled back (a failing effect or commit) whose events were then handled one transaction each.',
    labelNames: ['module', 'stage'] as const,
    registers: [this.registry],
  });
  readonly runEvents = new Histogram({
    name: 'kafka_run_events',
    help: 'Events per shared consumer transaction (run) committed, by module: small runs under a backlog mean the per-run cost (begin, inbox, outbox, commit, offset commit) dominates.',
    labelNames: ['module'] as const,
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'kafka_dlq_writes_total',
    help: 'Events a module parked in its dead-letter topic, by source topic and error code.',
    labelNames: ['module', 'topic', 'code'] as const,
    registers: [this.registry],
  });
  readonly endToEndLatency = new Histogram({
    name: 'kafka_event_end_to_end_seconds',
    help: 'From the event being recorded (occurredAt) to a consumer module finishing it.',
    labelNames: ['module', 'type'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'kafka_consumer_lag',
    help: 'Messages not yet committed by a group, per topic partition (sampled from the admin API).',
    labelNames: ['module', 'group', 'topic', 'partition'] as const,
    registers: [this.registry],
  });
  readonly deadLetterSize = new Gauge({
    name: 'kafka_dlq_messages',
    help: 'Messages held in a module dead-letter topic (sampled from the admin API).',
    labelNames: ['module'] as const,
    registers: [this.registry],
  });
  readonly deadLetterPending = new Gauge({
    name: 'kafka_dlq_pending_messages',
    help: 'Dead letters of a module not redriven yet: past its redrive mark (sampled from the admin API).',
    labelNames: ['module'] as const,
    registers: [this.registry],
  });
  readonly samplerErrors = new Counter({
    name: 'observability_sample_errors_total',
    help: 'Failed background samples (consumer lag, DLQ size, outbox backlog), by what was sampled.',
    labelNames: ['sample'] as const,
    registers: [this.registry],
  });
  readonly outboxBacklog = new Gauge({
    name: 'outbox_backlog_events',
    help: 'Events waiting in a module outbox.',
    labelNames: ['module'] as const,
    registers: [this.registry],
  });
  readonly outboxOldestAge = new Gauge({
    name: 'outbox_oldest_event_age_seconds',
    help: 'Age of the oldest event waiting in a module outbox (0 when empty).',
    labelNames: ['module'] as const,
    registers: [this.registry],
  });

  constructor(private readonly naming: KafkaNaming) {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Records one answered HTTP request; `route` is the matched template, never the raw URL. */
  httpResponse(method: string, route: string | undefined, statusCode: number, durationMs: number): void {
    const labels = {
      method: HTTP_METHODS.has(method) ? method : 'OTHER',
      route: route ?? 'unmatched',
      status_code: String(statusCode),
    };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, durationMs / 1000);
  }

  handled(module: ModuleName, type: string, durationMs: number): void {
    const t = this.type(type);
    this.consumed.inc({ module, topic: this.topicOfType(t), outcome: 'handled' });
    this.handlerDuration.observe({ module, type: t }, durationMs / 1000);
  }

  failed(module: ModuleName, type: string, _error: unknown, willRetry: boolean): void {
    const t = this.type(type);
    this.handlerErrors.inc({ module, type: t });
    if (willRetry) this.handlerRetries.inc({ module, type: t });
  }

  batchFallback(module: ModuleName, stage: 'effect' | 'commit'): void {
    this.batchFallbacks.inc({ module, stage });
  }

  runCommitted(module: ModuleName, events: number): void {
    this.runEvents.observe({ module }, events);
  }

  deadLettered(module: ModuleName, topic: string, code: string): void {
    const logical = this.topic(topic);
    this.consumed.inc({ module, topic: logical, outcome: 'dead_lettered' });
    this.deadLetters.inc({ module, topic: logical, code });
  }

  published(module: ModuleName, topic: string, count: number): void {
    this.produced.inc({ module, topic: this.topic(topic) }, count);
  }

  endToEnd(module: ModuleName, type: string, ms: number): void {
    if (Number.isFinite(ms)) this.endToEndLatency.observe({ module, type: this.type(type) }, Math.max(ms, 0) / 1000);
  }

  private type(type: string): string {
    return isEventType(type) ? type : 'unknown';
  }

  private topicOfType(type: string): string {
    return isEventType(type) ? EVENTS[type].topic : 'unknown';
  }

  /** The logical topic (prefix removed) when it is one of ours; anything else is `other`. */
  private topic(topic: string): string {
    const logical = this.naming.logicalTopic(topic);
    if (logical === undefined) return 'other';
    const known = Object.values(EVENTS).some((e) => e.topic === logical) || /^[a-z]+\.dlq$/.test(logical);
    return known ? logical : 'other';
  }
}
