import { INestApplicationContext, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { IncomingMessage } from 'node:http';
import { Server, ServerOptions } from 'socket.io';

/** A `sync` is a few bytes: socket.io's default takes messages of up to 1 MB from anyone. */
const MAX_MESSAGE_BYTES = 16 * 1024;

/**
 * Whether a browser page at `origin` may open a socket here: the app's own origin (the dashboard it
 * serves), or one of CORS_ORIGINS. A WebSocket is not subject to CORS, so without this any page a
 * visitor opens could make the visitor's browser hold sockets to the app. A request without an
 * Origin is not from a browser page and is let through (the connection cap still applies).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Socket.io on the app's HTTP server, guarded as HTTP is: the socket's handshake passes none of the
 * Fastify hooks (helmet, the rate limiter, the body limit), so it checks the page's origin itself,
 * holds at most `maxConnections`, and takes small messages only.
 */
export class GuardedIoAdapter extends IoAdapter {
  private readonly logger = new Logger('Live');
  /** Origins refused so far, each logged once (at most 100: a flood of made-up origins logs no more). */
  private readonly refused = new Set<string>();

  constructor(
    app: INestApplicationContext,
    private readonly guard: { corsOrigins: readonly string[]; maxConnections: number },
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    let server: Server | undefined;
    server = super.createIOServer(port, {
      ...options,
      maxHttpBufferSize: MAX_MESSAGE_BYTES,
      allowRequest: (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void) => {
        const origin = req.headers.origin;
        // Behind a proxy the browser's Host may arrive as X-Forwarded-Host (a page cannot set either on a socket).
        const forwardedHost = req.headers['x-forwarded-host'];
        const host = typeof forwardedHost === 'string' ? forwardedHost.split(',')[0].trim() : req.headers.host;
        if (!originAllowed(origin, host, this.guard.corsOrigins)) {
          this.logRefused(String(origin), host);
          return callback('origin not allowed', false);
        }
        if ((server?.engine.clientsCount ?? 0) >= this.guard.maxConnections) return callback('too many live connections: try again later', false);
        callback(null, true);
      },
    } as ServerOptions) as Server;
    return server;
  }

  private logRefused(origin: string, host: string | undefined): void {
    if (this.refused.has(origin) || this.refused.size >= 100) return;
    this.refused.add(origin);
    this.logger.warn(
      `refused a /live socket from a page at ${origin.slice(0, 200)} (the app answers as ${host ?? 'no host'}): behind a proxy that rewrites Host, list the public origin in CORS_ORIGINS`,
    );
  }
}
