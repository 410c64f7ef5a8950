import { expectEventually } from '../support/eventually';
import { Scenario } from './support/scenario';

describe('chaos 2: the broker is killed with -9 mid-load', () => {
  let s: Scenario;

  afterAll(async () => {
    await s?.dispose();
  });

  it('keeps taking orders while Kafka is away and catches up once it is back, each effect exactly once', async () => {
    s = await Scenario.start('broker-kill');
    const load = s.load({ count: 200, perSecond: 25 });
    await s.ordersFlowing(); // the load is running before the crash
    await s.broker.kill9();
    try {
      // Readiness notices the broker is gone while HTTP keeps answering.
      await expectEventually(async () => {
        const res = await fetch(`${s.app.url}/health/ready`);
        expect(res.status).toBe(503);
      }, 30_000, 250);
      // Orders are still accepted while the broker is away: their events wait in the outbox.
      const stored = await s.ordersStored();
      await expectEventually(async () => {
        expect(await s.ordersStored()).toBeGreaterThanOrEqual(stored + 20);
        const [{ n }] = await s.query<{ n: number }>('SELECT count(*)::int AS n FROM orders.outbox');
        expect(n).toBeGreaterThanOrEqual(20);
      }, 30_000, 250);
    } finally {
      s.broker.start();
    }
    const restarted = Date.now();
    const result = await load;
    const settled = await s.settle(result, restarted);
    s.record(2, 'kill -9 the broker mid-load, restart it', result, settled);
    expect(settled.report.violations).toEqual([]);
    expect(result.gaveUp).toBe(0); // orders were accepted throughout the outage
  });
});
