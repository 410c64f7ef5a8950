import { Injectable, Logger } from '@nestjs/common';
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
  private closing?: Promise<void>;

  /**
   * Stops every consumer of the process at once, then drains every outbox at once: one shutdown
   * budget for all modules. Nest runs each module's shutdown hook after the one before, and four
   * modules closing one after the other (a consumer's close and a relay's drain are each bounded by
   * seconds) could outlast SHUTDOWN_TIMEOUT_MS and end in exit(1). Every module's hook awaits the
   * same close.
   */
  closeAll(): Promise<void> {
    return (this.closing ??= this.closeEverything());
  }

  private async closeEverything(): Promise<void> {
    const logger = new Logger('Shutdown');
    const started = Date.now();
    const servers = [...this.servers];
    const closedAt = new Map<ModuleName, number>();
    await Promise.all(servers.map(([module, server]) => server.close().finally(() => closedAt.set(module, Date.now()))));
    const consumersClosed = Date.now();
    await Promise.all(
      [...this.relays].map(async ([module, relay]) => {
        await relay.stop();
        const closed = closedAt.get(module);
        const consumer = closed === undefined ? 'no consumer' : `consumer closed in ${closed - started} ms`;
        logger.log(`${module}: ${consumer}, outbox drained in ${Date.now() - consumersClosed} ms`);
      }),
    );
  }

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
