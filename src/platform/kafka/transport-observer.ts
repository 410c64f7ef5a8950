import { ModuleName } from '../config/environment';

/**
 * What the Kafka plumbing reports as it works, for metrics and logs. The transport and the relays
 * call it; observability implements it. Every method must be cheap and must not throw.
 */
export interface TransportObserver {
  /** A handler finished an event (after any in-place retries). */
  handled(module: ModuleName, type: string, durationMs: number): void;
  /** A handler attempt failed; `willRetry` says whether it is tried again. */
  failed(module: ModuleName, type: string, error: unknown, willRetry: boolean): void;
  /** A still-failing event was moved to the module's retry topic of `level`. */
  retried?(module: ModuleName, type: string, level: number): void;
  /** An event was parked in the module's dead-letter topic. */
  deadLettered(module: ModuleName, topic: string, code: string): void;
  /** The relay of `module` published `count` events to `topic`. */
  published(module: ModuleName, topic: string, count: number): void;
  /** A shared consumer transaction was rolled back and its events handled one by one. */
  batchFallback?(module: ModuleName, stage: 'effect' | 'commit'): void;
  /** A shared consumer transaction committed the effects of `events` events of one topic. */
  runCommitted?(module: ModuleName, events: number): void;
  /** End-to-end: from the envelope's `occurredAt` to this module's commit (with its stages when the event was part of a run). */
  endToEnd?(module: ModuleName, type: string, ms: number, stages?: LatencyStages): void;
}

/** Where an event's end-to-end time went, in ms; the rest of it is spent in its run (handlers, commit). */
export interface LatencyStages {
  /**
   * `occurredAt` → the message's Kafka timestamp (the producer's send time): the rest of the
   * transaction that wrote the event (for an event written by a consumer, the rest of its run), its
   * commit, and the relay.
   */
  toKafka: number;
  /** Kafka timestamp → its batch reaching the transport: broker, fetch and the consumer's queue. */
  toTransport: number;
}


/** The default: observe nothing. */
export const noopObserver: TransportObserver = {
  handled: () => undefined,
  failed: () => undefined,
  deadLettered: () => undefined,
  published: () => undefined,
};
