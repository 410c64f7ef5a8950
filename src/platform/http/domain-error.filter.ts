import { ArgumentsHost, Catch, HttpStatus } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { FastifyReply } from 'fastify';
import { throwError } from 'rxjs';
import { DomainError } from './domain-error';

const STATUS: Record<DomainError['kind'], HttpStatus> = {
  invalid: HttpStatus.BAD_REQUEST,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
};

/**
 * The one global filter. HTTP: module errors become `{ statusCode, code, message, ...details }`,
 * everything else goes to Nest's default handling. Kafka handlers: the error goes back to our
 * transport unchanged (Nest's default RPC filter would log it and hide its class), so the
 * transport can choose between retry and dead-letter.
 */
@Catch()
export class DomainErrorFilter extends BaseExceptionFilter {
  override catch(error: unknown, host: ArgumentsHost) {
    if (host.getType() === 'rpc') return throwError(() => error);
    if (!(error instanceof DomainError)) return super.catch(error, host);
    const statusCode = STATUS[error.kind];
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(statusCode)
      .send({ statusCode, code: error.code, message: error.message, ...error.details });
  }
}
