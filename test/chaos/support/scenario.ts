import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Kafka } from 'kafkajs';
import { expectEventually } from '../../support/eventually';
import { testKafka } from '../../support/kafka';
import { createTestDatabase, query } from '../../support/test-database';
import { AppProcess, CHAOS_ADMIN_TOKEN } from './app-process';
import { ChaosBroker } from './broker';
import { checkInvariants, CheckOptions, InvariantReport } from './invariants';
import { LoadOptions, LoadResult, runLoad } from './load';
import { freePort } from './ports';
import { recordRow } from './report';

/** The catalogue every scenario sells from: two deep SKUs and a scarce one (so some orders are rejected). */
export const INITIAL_STOCK: Record<string, number> = { DEEP_A: 100_000, DEEP_B: 100_000, SCARCE: 15 };

/** Mixed orders: single and multi-line, one in seven on the scarce SKU. */
export function mixedItems(i: number): { sku: string; quantity: number }[] {
  if (i % 7 === 0) return [{ sku: 'SCARCE', quantity: 1 }];
  if (i % 3 === 0) return [{ sku: 'DEEP_A', quantity: 1 }, { sku: 'DEEP_B', quantity: 2 }];
  return [{ sku: 'DEEP_A', quantity: 1 + (i % 3) }];
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Settled {
  report: InvariantReport;
  recoverMs: number;
  passed: boolean;
}

/** One scenario's world: its database, topic/group prefix, app process(es) and bookkeeping. */
export class Scenario {
  readonly broker = new ChaosBroker(Number(process.env.CHAOS_KAFKA_PORT));
  readonly kafka: Kafka = testKafka(this.broker.brokers);
  readonly prefix = `c${randomBytes(3).toString('hex')}.`;
  readonly apps: AppProcess[] = [];
  private readonly started = Date.now();

  private constructor(
    readonly label: string,
    readonly databaseUrl: string,
    private readonly dropDatabase: () => Promise<void>,
    /** Every product this scenario sells, with its initial stock. */
    readonly stock: Record<string, number>,
  ) {}

  /** A fresh database and prefix, the app started and ready, and the catalogue seeded. */
  static async start(label: string, o: { env?: Record<string, string>; extraStock?: Record<string, number> } = {}): Promise<Scenario> {
    const db = await createTestDatabase(`chaos_${label.replace(/\W/g, '_')}`);
    const s = new Scenario(label, db.url, db.drop, { ...INITIAL_STOCK, ...o.extraStock });
    const app = await s.newApp(o.env);
    await app.startReady();
    await s.seed(app);
    return s;
  }

  get app(): AppProcess {
    return this.apps[0];
  }

  /** Another instance of the app on this scenario's database and prefix (not started). */
  async newApp(env: Record<string, string> = {}): Promise<AppProcess> {
    const app = new AppProcess({
      main: process.env.CHAOS_APP_MAIN!,
      cwd: process.env.CHAOS_APP_CWD!,
      databaseUrl: this.databaseUrl,
      brokers: this.broker.brokers,
      prefix: this.prefix,
      port: await freePort(),
      logFile: join(process.env.CHAOS_WORK_DIR!, `${this.label}-app${this.apps.length + 1}.log`),
      env,
    });
    this.apps.push(app);
    return app;
  }

  private async seed(app: AppProcess): Promise<void> {
    for (const [sku, stock] of Object.entries(this.stock)) {
      const res = await fetch(`${app.url}/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${CHAOS_ADMIN_TOKEN}` },
        body: JSON.stringify({ sku, name: `Chaos ${sku}`, priceCents: 500, stock }),
      });
      if (res.status !== 201) throw new Error(`POST /products ${sku} answered ${res.status}: ${await res.text()}`);
    }
    // Orders are priced from the order module's catalogue replica: wait until it has every SKU.
    await expectEventually(async () => {
      for (const sku of Object.keys(this.stock)) {
        const rows = await this.query(`SELECT 1 FROM orders.catalogue WHERE sku = $1`, [sku]);
        expect(rows).toHaveLength(1);
      }
    }, 30_000, 200);
  }

  /** How many orders the app has stored. */
  async ordersStored(): Promise<number> {
    const [{ n }] = await this.query<{ n: number }>('SELECT count(*)::int AS n FROM orders.orders');
    return n;
  }

  /**
   * Waits (bounded) until at least `n` orders are stored: a fault injected before the load is
   * flowing would find nothing in flight, and the invariants would hold without proving anything.
   */
  async ordersFlowing(n = 20, timeoutMs = 30_000): Promise<void> {
    await expectEventually(async () => expect(await this.ordersStored()).toBeGreaterThanOrEqual(n), timeoutMs, 100);
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return query<T>(this.databaseUrl, sql, params);
  }

  /** A bounded load of mixed orders against the running instances. */
  load(o: Partial<LoadOptions> & Pick<LoadOptions, 'count' | 'perSecond'>): Promise<LoadResult> {
    return runLoad({ urls: () => this.readyUrls(), items: mixedItems, cancelShare: 0.1, ...o });
  }

  /** The instances a client can reach; the first one's URL while none is up (requests then fail and are retried). */
  readyUrls(): string[] {
    const up = this.apps.filter((a) => a.ready).map((a) => a.url);
    return up.length > 0 ? up : [this.app.url];
  }

  /**
   * Polls the invariants until they all hold or `timeoutMs` passes; returns the last report and
   * how long after `since` they first held.
   */
  async settle(
    load: LoadResult,
    since: number,
    o: Partial<Pick<CheckOptions, 'expectedDlq'>> & { timeoutMs?: number } = {},
  ): Promise<Settled> {
    let report: InvariantReport | undefined;
    let lastError: unknown;
    try {
      await expectEventually(async () => {
        lastError = undefined;
        report = await checkInvariants({
          databaseUrl: this.databaseUrl,
          kafka: this.kafka,
          prefix: this.prefix,
          load,
          initialStock: this.stock,
          expectedDlq: o.expectedDlq,
        }).catch((e: unknown) => {
          lastError = e;
          throw e;
        });
        expect(report.violations).toEqual([]);
      }, o.timeoutMs ?? 120_000, 1000);
      return { report: report!, recoverMs: Date.now() - since, passed: true };
    } catch {
      // The checker itself failing (a query error) must not read as a pass, nor hide its cause.
      if (!report || lastError) throw lastError ?? new Error('invariants never checked');
      return { report, recoverMs: Date.now() - since, passed: false };
    }
  }

  record(order: number, scenario: string, load: LoadResult, settled: Settled, note?: string): void {
    recordRow({
      order,
      scenario,
      sent: load.sent,
      accepted: settled.report.accepted,
      finalReached: settled.report.finalReached,
      duplicates: settled.report.duplicates,
      lost: settled.report.lost,
      recoverMs: settled.recoverMs,
      durationMs: Date.now() - this.started,
      passed: settled.passed && !note,
      note: note ?? (settled.passed ? undefined : settled.report.violations.join('; ')),
    });
  }

  async dispose(): Promise<void> {
    for (const app of this.apps) await app.stop('SIGTERM', 20_000);
    if (!process.env.KEEP_DB) await this.dropDatabase();
  }
}
