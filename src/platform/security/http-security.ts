import { NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet, { HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Environment } from '../config/environment';

/** Deeper JSON is refused before validation: class-transformer recurses and overflows the stack near 2,000 levels. */
export const MAX_JSON_DEPTH = 32;
// Keys named after Object.prototype members (constructor, toString, __proto__, ...) and `prototype`:
// class-validator's whitelist looks property names up in a plain object, so these pass
// forbidNonWhitelisted and reached the services. No DTO field may use them.
const PROTOTYPE_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** Why a parsed JSON body is refused before validation, if it is; walks without recursion (the input is hostile). */
export function unsafeJsonShape(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > maxDepth) return `JSON body nested deeper than ${maxDepth} levels`;
    for (const key of Object.keys(node)) {
      if (!Array.isArray(node) && PROTOTYPE_KEYS.has(key)) return `property ${key} is not allowed`;
      stack.push([(node as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return undefined;
}

/**
 * The headers Helmet sets for `options`, computed once. They do not vary per request (no CSP nonces,
 * no function directives), and @fastify/helmet rebuilt Helmet, CSP parsing included, on every
 * request: 5 % of the app's CPU on the no-op endpoint (docs/performance.md).
 */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, () => undefined);
  return headers;
}

/**
 * Response headers and CORS (docs/security.md). Fastify sends no X-Powered-By. Helmet's CSP keeps
 * its defaults except `upgrade-insecure-requests`: TLS is terminated in front of the app, and the
 * dashboard sets its own, stricter policy on its pages.
 */
export async function applyHttpSecurity(app: NestFastifyApplication, env: Pick<Environment, 'CORS_ORIGINS'>): Promise<void> {
  // Bodies are already capped at 256 KiB by the adapter (413); this caps their nesting and refuses
  // prototype-shaped keys (400) before any transformation runs.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('preValidation', async (request, reply) => {
      const problem = unsafeJsonShape(request.body);
      if (problem) await reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: problem });
    });
  const headers = helmetHeaders({
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
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
