import { pause, Scenario } from './support/scenario';

describe('chaos 7: a second instance joins and leaves under load', () => {
  let s: Scenario;

  afterAll(async () => {
    await s?.dispose();
  });

  it('loses and doubles nothing while every group rebalances twice', async () => {
    s = await Scenario.start('rebalance');
    const load = s.load({ count: 250, perSecond: 25 });
    await pause(1500); // load on one instance first
    const second = await s.newApp();
    await second.startReady(); // ready = its consumers joined every group: the first rebalance
    await pause(3000); // both instances take orders and share partitions
    const left = await second.stop('SIGTERM');
    const rebalanced = Date.now();
    const result = await load;
    const settled = await s.settle(result, rebalanced);
    s.record(7, 'second instance joins, then leaves (SIGTERM), mid-load', result, settled);
    expect(left.timedOut).toBe(false);
    expect(settled.report.violations).toEqual([]);
  });
});
