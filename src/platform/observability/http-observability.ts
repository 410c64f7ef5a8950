import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PinoLogger } from 'nestjs-pino';
import { LogContext } from './log-context';
import { accessLogLevel, QUIET_ROUTES } from './logging';
import { Metrics } from './metrics';

/**
 * Per request, with fastify hooks (no Nest middleware): its log context, so every line it causes
 * carries its correlation id (the request id: X-Request-Id or a new uuid, told back in X-Request-Id); one access line when it
 * is answered (probes and scrapes excepted); its count and duration by route template
 * (`/orders/:id`, never the raw URL, so ids cannot blow up label cardinality). Runs before listen.
 */
export function installHttpObservability(app: NestFastifyApplication): void {
  const metrics = app.get(Metrics);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    // Told back, so a client that sent none can quote it (CORS exposes it).
    reply.header('x-request-id', request.id);
    LogContext.run({ correlationId: request.id }, done);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    metrics.httpResponse(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime);
    // By route (no query string), so `/metrics?x` is as quiet as `/metrics`.
    if (QUIET_ROUTES.test(request.routeOptions.url ?? request.url)) return;
    PinoLogger.root[accessLogLevel(reply.statusCode)](
      { correlationId: request.id, req: request.raw, res: reply.raw, responseTime: Math.round(reply.elapsedTime) },
      'request completed',
    );
  });
}
