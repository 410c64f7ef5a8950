import { ArgumentsHost, Catch, HttpStatus, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { FastifyReply, FastifyRequest } from 'fastify';
import { throwError } from 'rxjs';
import { describeError, isInfrastructureError } from '../kafka/errors';
import { DomainError } from './domain-error';
import { OverloadedError } from './overloaded.error';

const STATUS: Record<DomainError['kind'], HttpStatus> = {
  invalid: HttpStatus.BAD_REQUEST,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
};

/**
 * The one global filter. HTTP: module errors become `{ statusCode, code, message, ...details }`; a
 * dependency away (the database restarting, connections cut) becomes 503 with Retry-After, which a
 * client may retry (an order with the same Idempotency-Key is placed once), and so does too much work
 * waiting (OverloadedError: no warning of its own beside the access log line, which under overload
 * would double the lines); everything else goes to
 * Nest's default handling. Kafka handlers: the error goes back to our transport unchanged (Nest's
 * default RPC filter would log it and hide its class), so the transport can choose between retry
 * and dead-letter.
 */
@Catch()
export class DomainErrorFilter extends BaseExceptionFilter {
  private readonly log = new Logger('Http');

  override catch(error: unknown, host: ArgumentsHost) {
    if (host.getType() === 'rpc') return throwError(() => error);
    if (isInfrastructureError(error)) return this.unavailable(error, host);
    if (error instanceof OverloadedError) return this.retryLater(host, error.code, error.message);
    if (!(error instanceof DomainError)) return super.catch(error, host);
    const statusCode = STATUS[error.kind];
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(statusCode)
      .send({ statusCode, code: error.code, message: error.message, ...error.details });
  }

  private unavailable(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    this.log.warn(`${request.method} ${request.routeOptions.url ?? request.url} answered 503, a dependency is unavailable: ${describeError(error)}`);
    this.retryLater(host, 'SERVICE_UNAVAILABLE', 'the database is unavailable; retry shortly (an order sent again with the same Idempotency-Key is placed once)');
  }

  private retryLater(host: ArgumentsHost, code: string, message: string): void {
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(HttpStatus.SERVICE_UNAVAILABLE)
      .header('retry-after', '1')
      .send({ statusCode: HttpStatus.SERVICE_UNAVAILABLE, code, message });
  }
}
