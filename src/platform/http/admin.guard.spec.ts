import { ExecutionContext, ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DEFAULT_ADMIN_TOKEN, Environment } from '../config/environment';
import { AdminGuard } from './admin.guard';

describe(AdminGuard.name, () => {
  const guard = (token: string) => new AdminGuard({ get: () => token } as unknown as ConfigService<Environment, true>);
  const request = (headers: Record<string, string | undefined>) =>
    ({ switchToHttp: () => ({ getRequest: () => ({ headers }) }) }) as unknown as ExecutionContext;
  const STRONG = 'a-strong-token-of-32-characters-x';

  it('lets the right bearer token in, and answers 401 without one and 403 with a wrong one', () => {
    expect(guard(STRONG).canActivate(request({ authorization: `Bearer ${STRONG}` }))).toBe(true);
    expect(() => guard(STRONG).canActivate(request({}))).toThrow(UnauthorizedException);
    expect(() => guard(STRONG).canActivate(request({ authorization: `Basic ${STRONG}` }))).toThrow(UnauthorizedException);
    expect(() => guard(STRONG).canActivate(request({ authorization: 'Bearer wrong' }))).toThrow(ForbiddenException);
  });

  it('refuses the default token on a request that came through a proxy (a reverse proxy in front of a loopback app)', () => {
    const bearer = { authorization: `Bearer ${DEFAULT_ADMIN_TOKEN}` };
    expect(guard(DEFAULT_ADMIN_TOKEN).canActivate(request(bearer))).toBe(true);
    for (const via of [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }, { via: '1.1 nginx' }]) {
      expect(() => guard(DEFAULT_ADMIN_TOKEN).canActivate(request({ ...bearer, ...via }))).toThrow(/came through a proxy: set ADMIN_TOKEN/);
    }
    // A token of one's own is taken through a proxy.
    expect(guard(STRONG).canActivate(request({ authorization: `Bearer ${STRONG}`, 'x-forwarded-for': '203.0.113.9' }))).toBe(true);
  });
});
