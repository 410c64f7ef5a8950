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
}
