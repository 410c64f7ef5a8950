import { Scenario } from './support/scenario';

describe('chaos 1: the app is killed with -9 mid-load', () => {
  let s: Scenario;

  afterAll(async () => {
    await s?.dispose();
  });

  it('restarts and brings every acknowledged order to a final state with each effect exactly once', async () => {
    s = await Scenario.start('app-kill');
    const load = s.load({ count: 200, perSecond: 30 });
    await s.ordersFlowing(); // the load is running before the crash
    await s.app.kill9();
    await s.app.startReady();
    const restarted = Date.now();
    const result = await load;
    const settled = await s.settle(result, restarted);
    s.record(1, 'kill -9 the app mid-load, restart it', result, settled);
    expect(settled.report.violations).toEqual([]);
    expect(result.retriedAttempts).toBeGreaterThan(0); // the crash really cut requests
  });
});
