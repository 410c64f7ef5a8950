import helmet from '@fastify/helmet';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Environment } from '../config/environment';

/**
 * Response headers and CORS (docs/security.md). Fastify sends no X-Powered-By. Helmet's CSP keeps
 * its defaults except `upgrade-insecure-requests`: TLS is terminated in front of the app, and the
 * dashboard sets its own, stricter policy on its pages.
 */
export async function applyHttpSecurity(app: NestFastifyApplication, env: Pick<Environment, 'CORS_ORIGINS'>): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  app.enableCors({
    // An empty list answers no origin: browsers on other sites cannot read the API.
    origin: env.CORS_ORIGINS.length > 0 ? env.CORS_ORIGINS : false,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization', 'Idempotency-Key', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'idempotent-replayed'],
    credentials: false,
    maxAge: 600,
  });
}
