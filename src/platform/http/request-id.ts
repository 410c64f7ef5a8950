import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { FastifyRequest } from 'fastify';

const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's correlation id: a well-formed `X-Request-Id` header, or a new uuid. */
export function requestIdOf(request: FastifyRequest): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && VALID.test(header) ? header : (request.id ?? randomUUID());
}

export const RequestId = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  requestIdOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);
