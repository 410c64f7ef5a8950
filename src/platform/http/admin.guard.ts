import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHash, timingSafeEqual } from 'node:crypto';
import { FastifyRequest } from 'fastify';
import { Environment } from '../config/environment';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Admin endpoints: `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time; 401 without, 403 wrong. */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(config: ConfigService<Environment, true>) {
    this.expected = digest(config.get('ADMIN_TOKEN', { infer: true }));
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new UnauthorizedException('admin endpoint: send Authorization: Bearer <ADMIN_TOKEN>');
    if (!timingSafeEqual(digest(match[1]), this.expected)) throw new ForbiddenException('admin token is not valid');
    return true;
  }
}
