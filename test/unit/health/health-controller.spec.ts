import { ConfigService } from '@nestjs/config';
import { HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Environment } from '../../../src/platform/config/environment';
import { HealthController, READY_REUSE_MS } from '../../../src/platform/health/health.controller';

describe(`${HealthController.name} readiness (stub HealthCheckService that counts checks)`, () => {
  const up: HealthCheckResult = { status: 'ok', info: {}, error: {}, details: {} };
  let release: (r: HealthCheckResult) => void;
  const check = jest.fn(() => new Promise<HealthCheckResult>((resolve) => (release = resolve)));
  const controller = () =>
    new HealthController(
      { check } as unknown as HealthCheckService,
      new HealthIndicatorService(),
      ...([{}, {}, {}, {}] as [never, never, never, never]),
      { get: () => ['order', 'warehouse'] } as unknown as ConfigService<Environment, true>,
    );

  afterEach(() => {
    check.mockClear();
    jest.restoreAllMocks();
  });

  it('runs one check for a flood of probes arriving while it runs, and gives them all its answer', async () => {
    const health = controller();
    const answers = Array.from({ length: 200 }, () => health.ready());
    expect(check).toHaveBeenCalledTimes(1);
    release(up);
    expect(new Set(await Promise.all(answers))).toEqual(new Set([up]));
  });

  it('reuses a settled answer, failure included, for READY_REUSE_MS, then checks again', async () => {
    let now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const health = controller();
    const failed = health.ready();
    release(Promise.reject(new Error('db:order down')) as never);
    await expect(failed).rejects.toThrow('db:order down');
    now += READY_REUSE_MS - 1;
    await expect(health.ready()).rejects.toThrow('db:order down');
    expect(check).toHaveBeenCalledTimes(1);
    now += 1;
    const again = health.ready();
    expect(check).toHaveBeenCalledTimes(2);
    release(up);
    await expect(again).resolves.toBe(up);
  });
});
