import { Logger } from '@nestjs/common';
import { ModuleName } from '../config/environment';
import { describeError } from '../kafka/errors';
import { TransportObserver } from '../kafka/transport-observer';

/**
 * One log line per event a module handles (and, at debug, per failed attempt), written inside the message's
 * LogContext, so each line carries the correlation id, event id and module: `grep <id>` shows
 * an order's whole path. Parking is logged by the transport itself.
 */
export class LoggingObserver implements TransportObserver {
  private readonly logger = new Logger('Events');

  handled(module: ModuleName, type: string, durationMs: number): void {
    this.logger.log(`${module} handled ${type} in ${durationMs.toFixed(1)} ms`);
  }

  failed(module: ModuleName, type: string, error: unknown, willRetry: boolean): void {
    // Debug: the transport's own warning for the same attempt says more (attempt n of m, the wait,
    // the retry topic or the DLQ); two warnings per failed attempt doubled the lines under a failure.
    this.logger.debug(`${module} failed ${type} (${willRetry ? 'will retry' : 'no retry'}): ${describeError(error)}`);
  }

  deadLettered(): void {
    // The transport logs the parking with its reason and source offset.
  }

  published(module: ModuleName, topic: string, count: number): void {
    this.logger.debug(`${module} published ${count} event(s) to ${topic}`);
  }
}
