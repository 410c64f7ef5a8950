import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PinoLogger } from 'nestjs-pino';
import { LogContext } from './log-context';
import { accessLogLevel, QUIET_ROUTES } from './logging';
import { Metrics } from './metrics';

/**
 * Per request, with fastify hooks (no Nest middleware): its log context, so every line it causes
 * carries its correlation id (the request id: X-Request-Id or a new uuid); one access line when it
 * is answered (probes and scrapes excepted); its count and duration by route template
 * (`/orders/:id`, never the raw URL, so ids cannot blow up label cardinality). Runs before listen.
 */
export function installHttpObservability(app: NestFastifyApplication): void {
  const metrics = app.get(Metrics);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, _reply, done) => LogContext.run({ correlationId: request.id }, done));
  fastify.addHook('onResponse', async (request, reply) => {
    metrics.httpResponse(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime);
    if (QUIET_ROUTES.test(request.url)) return;
    PinoLogger.root[accessLogLevel(reply.statusCode)](
      { correlationId: request.id, req: request.raw, res: reply.raw, responseTime: Math.round(reply.elapsedTime) },
      'request completed',
    );
  });
}
