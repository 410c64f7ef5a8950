import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import { Server } from 'node:http';
import { Environment } from '../config/environment';

/**
 * Lets HTTP finish on SIGTERM without waiting on clients. Under load, keep-alive connections are
 * never idle when the server closes, and closing waited on them until the force-exit timer (the
 * chaos suite's SIGTERM scenario). From the start of shutdown, connections that fall idle are
 * closed every 100 ms (clients reconnect and, once the listener is closed, go elsewhere); after
 * half the shutdown budget any connection still open is closed.
 */
@Injectable()
export class HttpDrain implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private readonly forceAfterMs: number;

  constructor(
    private readonly host: HttpAdapterHost,
    config: ConfigService<Environment, true>,
  ) {
    this.forceAfterMs = Math.floor(config.get('SHUTDOWN_TIMEOUT_MS', { infer: true }) / 2);
  }

  beforeApplicationShutdown(): void {
    const server = this.host.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server || typeof server.closeIdleConnections !== 'function') return;
    const idle = setInterval(() => server.closeIdleConnections(), 100).unref();
    setTimeout(() => {
      clearInterval(idle);
      this.logger.warn(`HTTP connections still open after ${this.forceAfterMs} ms of shutdown; closing them`);
      server.closeAllConnections();
    }, this.forceAfterMs).unref();
  }
}
