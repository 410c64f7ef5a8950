import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Server } from 'node:http';
import { Environment } from '../config/environment';

/**
 * The HTTP side of a graceful stop. `close()` (called before consumers stop and outboxes drain)
 * answers new requests with 503 + `Connection: close`, waits for the requests in flight, so every
 * order they accepted is in the outbox before it drains, and closes keep-alive connections as they
 * fall idle: under load they are never all idle at once, and the server's own close would wait on
 * them (the chaos suite's SIGTERM scenario). Anything still open after half the shutdown budget is
 * closed.
 */
@Injectable()
export class HttpDrain {
  private readonly logger = new Logger('Shutdown');
  private readonly forceAfterMs: number;
  private server?: Server;
  private inFlight = 0;
  private closing?: Promise<void>;
  private idle?: () => void;

  constructor(config: ConfigService<Environment, true>) {
    this.forceAfterMs = Math.floor(config.get('SHUTDOWN_TIMEOUT_MS', { infer: true }) / 2);
  }

  /** Hooks request counting into fastify; must run before the app listens. */
  install(app: NestFastifyApplication): void {
    const fastify = app.getHttpAdapter().getInstance();
    this.server = fastify.server;
    const counted = new WeakSet<object>();
    fastify.addHook('onRequest', async (request, reply) => {
      if (this.closing) {
        return reply.code(503).header('connection', 'close').send({ statusCode: 503, message: 'shutting down; retry on another instance' });
      }
      counted.add(request);
      this.inFlight++;
    });
    const done = (request: object) => {
      if (!counted.delete(request)) return;
      this.inFlight--;
      if (this.inFlight === 0) this.idle?.();
    };
    fastify.addHook('onResponse', (request, _reply, next) => {
      done(request);
      next();
    });
    fastify.addHook('onRequestAbort', (request, next) => {
      done(request);
      next();
    });
  }

  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const sweep = setInterval(() => server.closeIdleConnections(), 100).unref();
    const force = setTimeout(() => {
      clearInterval(sweep);
      this.logger.warn(`HTTP connections still open after ${this.forceAfterMs} ms of shutdown; closing them`);
      server.closeAllConnections();
    }, this.forceAfterMs).unref();
    // Closed in time (its last connection gone): nothing to force, and no warning from an app that stopped.
    server.once('close', () => {
      clearInterval(sweep);
      clearTimeout(force);
    });
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.idle = resolve)),
        new Promise((resolve) => setTimeout(resolve, this.forceAfterMs).unref()),
      ]);
    }
  }
}
