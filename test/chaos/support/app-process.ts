import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, WriteStream } from 'node:fs';
import { expectEventually } from '../../support/eventually';

export const CHAOS_ADMIN_TOKEN = 'chaos-admin-token-123';

export interface AppSettings {
  main: string;
  cwd: string;
  databaseUrl: string;
  brokers: string;
  prefix: string;
  port: number;
  logFile: string;
  env?: Record<string, string>;
}

/** The app as a real child process (node on the transpiled build), so it can be killed with -9. */
export class AppProcess {
  private child?: ChildProcess;
  private exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private log?: WriteStream;
  /** True between a passed readiness probe and the next stop: where a load may send requests. */
  ready = false;

  constructor(readonly settings: AppSettings) {}

  get url(): string {
    return `http://127.0.0.1:${this.settings.port}`;
  }

  /** How the process ended, or undefined while it runs (or was never started). */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    const c = this.child;
    if (!c || (c.exitCode === null && c.signalCode === null)) return undefined;
    return { code: c.exitCode, signal: c.signalCode };
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const s = this.settings;
    this.log = createWriteStream(s.logFile, { flags: 'a' });
    this.log.write(`\n==== start ${new Date().toISOString()} ====\n`);
    // cwd is the build dir: no developer .env is loaded, only what is set here.
    const child = spawn(process.execPath, [s.main], {
      cwd: s.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(s.port),
        DATABASE_URL: s.databaseUrl,
        DATABASE_POOL_SIZE: '5',
        KAFKA_BROKERS: s.brokers,
        KAFKA_TOPIC_PREFIX: s.prefix,
        KAFKA_GROUP_PREFIX: s.prefix,
        KAFKA_TOPIC_PARTITIONS: '3',
        KAFKA_AUTOSTART_LOCAL: 'false',
        OUTBOX_POLL_MS: '200',
        ADMIN_TOKEN: CHAOS_ADMIN_TOKEN,
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
        LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn',
        ...s.env,
      },
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Polls GET /health/ready until it answers 200. */
  async waitReady(timeoutMs = 90_000): Promise<void> {
    await expectEventually(async () => {
      if (this.child?.exitCode != null) throw new Error(`app exited with ${this.child.exitCode}; see ${this.settings.logFile}`);
      const res = await fetch(`${this.url}/health/ready`);
      if (res.status !== 200) throw new Error(`not ready (${res.status}): ${await res.text()}`);
    }, timeoutMs, 250);
    this.ready = true;
  }

  async startReady(timeoutMs?: number): Promise<void> {
    this.start();
    await this.waitReady(timeoutMs);
  }

  /** Sends `signal` and waits for the exit, at most `timeoutMs`; returns how long it took and how it ended. */
  async stop(signal: NodeJS.Signals, timeoutMs = 30_000): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
    const child = this.child;
    if (!child || !this.exited || child.exitCode !== null || child.signalCode !== null) {
      return { ms: 0, code: child?.exitCode ?? null, signal: child?.signalCode ?? null, timedOut: false };
    }
    const started = Date.now();
    this.ready = false;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      child.kill('SIGKILL');
      await this.exited;
      return { ms: Date.now() - started, code: null, signal: 'SIGKILL', timedOut: true };
    }
    return { ms: Date.now() - started, ...result, timedOut: false };
  }

  kill9(): Promise<unknown> {
    return this.stop('SIGKILL');
  }
}
