import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { FastifyRequest } from 'fastify';

// Probes and scrapes come from the platform (kubelet, Prometheus) at a fixed rate and must never be refused.
const EXEMPT = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Rate limits per client IP on every HTTP route (public order endpoints, the dashboard, and admin
 * routes, which also slows guessing ADMIN_TOKEN), except health and metrics. Kafka handlers and
 * sockets inherit global guards too; they are not throttled here.
 */
@Injectable()
export class HttpThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    return EXEMPT.test(context.switchToHttp().getRequest<FastifyRequest>().url);
  }

  /**
   * The window's key: route and client in plain text. The stock guard hashes it with sha256 on
   * every request (1.3 % of the app's CPU on the no-op bench route); the windows live in this
   * process's memory only, and an IP and a handler name are short, so the hash buys nothing.
   */
  protected override generateKey(context: ExecutionContext, tracker: string, throttler: string): string {
    return `${context.getClass().name}-${context.getHandler().name}-${throttler}-${tracker}`;
  }
}
