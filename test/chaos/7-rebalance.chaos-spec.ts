import { expectEventually } from '../support/eventually';
import { Scenario } from './support/scenario';

describe('chaos 7: a second instance joins and leaves under load', () => {
  let s: Scenario;

  afterAll(async () => {
    await s?.dispose();
  });

  it('loses and doubles nothing while every group rebalances twice', async () => {
    s = await Scenario.start('rebalance');
    const load = s.load({ count: 250, perSecond: 25 });
    await s.ordersFlowing(); // load on one instance first
    const second = await s.newApp();
    await second.startReady(); // ready = its consumers joined every group: the first rebalance
    // Both instances take orders and share partitions: the second has handled events of its own.
    const stored = await s.ordersStored();
    await expectEventually(async () => {
      expect(await s.ordersStored()).toBeGreaterThanOrEqual(stored + 30);
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      const handled = metrics
        .split('\n')
        .filter((l) => l.startsWith('kafka_events_consumed_total{') && l.includes('outcome="handled"'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      expect(handled).toBeGreaterThan(0);
    }, 30_000, 250);
    const left = await second.stop('SIGTERM');
    const rebalanced = Date.now();
    const result = await load;
    const settled = await s.settle(result, rebalanced);
    s.record(7, 'second instance joins, then leaves (SIGTERM), mid-load', result, settled);
    expect(left.timedOut).toBe(false);
    expect(settled.report.violations).toEqual([]);
  });
});
