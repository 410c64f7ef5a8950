import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Metrics } from './metrics';

/**
 * Counts and times every answered request by its route template (`/orders/:id`, never the raw
 * URL, so ids cannot blow up label cardinality). Must run before the app listens.
 */
export function installHttpMetrics(app: NestFastifyApplication): void {
  const metrics = app.get(Metrics);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', async (request, reply) => {
      metrics.httpResponse(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime);
    });
}
