import { Injectable } from '@nestjs/common';
import { ModuleName } from '../config/environment';
import type { ModuleKafkaServer } from './module-kafka.server';
import type { OutboxRelay } from './outbox-relay';
import { TransportObserver } from './transport-observer';

/**
 * What this process runs, by module: its consumer server and its outbox relay (for health,
 * metrics and shutdown), and who observes the plumbing (metrics register here).
 */
@Injectable()
export class KafkaRegistry {
  readonly servers = new Map<ModuleName, ModuleKafkaServer>();
  readonly relays = new Map<ModuleName, OutboxRelay>();
  private readonly observers: TransportObserver[] = [];

  addObserver(observer: TransportObserver): void {
    this.observers.push(observer);
  }

  /** Fans each report out to every registered observer. */
  readonly observer: TransportObserver = {
    handled: (...a) => this.observers.forEach((o) => o.handled(...a)),
    failed: (...a) => this.observers.forEach((o) => o.failed(...a)),
    retried: (...a) => this.observers.forEach((o) => o.retried?.(...a)),
    batchFallback: (...a) => this.observers.forEach((o) => o.batchFallback?.(...a)),
    runCommitted: (...a) => this.observers.forEach((o) => o.runCommitted?.(...a)),
    deadLettered: (...a) => this.observers.forEach((o) => o.deadLettered(...a)),
    published: (...a) => this.observers.forEach((o) => o.published(...a)),
    endToEnd: (...a) => this.observers.forEach((o) => o.endToEnd?.(...a)),
  };
}
