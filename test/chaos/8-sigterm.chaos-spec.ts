import { readFileSync } from 'node:fs';
import { Scenario } from './support/scenario';

/** The app's own SHUTDOWN_TIMEOUT_MS (its default): past it, main.ts forces the exit and logs "still closing". */
const SHUTDOWN_TIMEOUT_MS = 25_000;

describe('chaos 8: SIGTERM under load', () => {
  let s: Scenario;

  afterAll(async () => {
    await s?.dispose();
  });

  it('exits within the timeout, leaves its outbox published, and the restart loses nothing', async () => {
    s = await Scenario.start('sigterm');
    const load = s.load({ count: 200, perSecond: 30 });
    await s.ordersFlowing(); // the load is running before the stop
    const stopped = await s.app.stop('SIGTERM', SHUTDOWN_TIMEOUT_MS + 15_000);
    const forced = /still closing after/.test(readFileSync(s.app.settings.logFile, 'utf8'));
    const leftInOutbox = await s.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM orders.outbox) + (SELECT count(*) FROM warehouse.outbox) + (SELECT count(*) FROM email.outbox) + (SELECT count(*) FROM analytics.outbox) AS n`,
    );
    await s.app.startReady();
    const restarted = Date.now();
    const result = await load;
    const settled = await s.settle(result, restarted);
    s.record(8, `SIGTERM mid-load (exit in ${(stopped.ms / 1000).toFixed(1)} s), restart`, result, settled,
      forced || stopped.timedOut ? `graceful close hung; the ${SHUTDOWN_TIMEOUT_MS} ms timer forced the exit` : undefined);
    // A graceful stop finishes its work; the force-exit timer is a safety net, not the way out.
    expect({ exitMs: stopped.ms, timedOut: stopped.timedOut, forcedByTimer: forced }).toEqual({ exitMs: stopped.ms, timedOut: false, forcedByTimer: false });
    expect({ outboxAfterGracefulStop: Number(leftInOutbox[0].n) }).toEqual({ outboxAfterGracefulStop: 0 });
    expect(settled.report.violations).toEqual([]);
  });
});
