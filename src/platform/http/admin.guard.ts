import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHash, timingSafeEqual } from 'node:crypto';
import { FastifyRequest } from 'fastify';
import { Environment } from '../config/environment';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Headers a proxy adds: a request carrying one came through something else first. */
const FORWARDED = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'via'] as const;

/**
 * Admin endpoints: `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time; 401 without, 403 wrong.
 * The default token (`change-me…`, printed in the README) only serves a client talking to the app
 * directly: the configuration check refuses it when the app listens beyond loopback or trusts a
 * proxy, but a reverse proxy on the same host reaches a loopback app without either, so a request
 * that came through one is refused here (403) whatever it says.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly expected: Buffer;
  private readonly isDefault: boolean;

  constructor(config: ConfigService<Environment, true>) {
    const token = config.get('ADMIN_TOKEN', { infer: true });
    this.expected = digest(token);
    this.isDefault = token.startsWith('change-me');
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new UnauthorizedException('admin endpoint: send Authorization: Bearer <ADMIN_TOKEN>');
    if (!timingSafeEqual(digest(match[1]), this.expected)) throw new ForbiddenException('admin token is not valid');
    if (this.isDefault && FORWARDED.some((h) => request.headers[h] !== undefined)) {
      throw new ForbiddenException('the default ADMIN_TOKEN serves only direct local clients, and this request came through a proxy: set ADMIN_TOKEN');
    }
    return true;
  }
}
