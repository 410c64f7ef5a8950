import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectEventually } from '../../support/eventually';

const root = join(__dirname, '..', '..', '..');
const script = join(root, 'scripts', 'kafka', 'kafka.sh');

/** The suite's own single-node broker (never the shared 9092/19092 ones), driven through kafka.sh. */
export class ChaosBroker {
  constructor(readonly port: number) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  private get pidFile(): string {
    return join(root, '.cache', 'kafka', `node-${this.port}`, 'kafka.pid');
  }

  start(fresh = false): void {
    execFileSync('bash', [script, 'start'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, KAFKA_PORT: String(this.port), KAFKA_FRESH: fresh ? '1' : '0' },
    });
  }

  stop(): void {
    execFileSync('bash', [script, 'stop'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, KAFKA_PORT: String(this.port) } });
  }

  /** kill -9 the broker JVM and wait until it is gone. */
  async kill9(): Promise<void> {
    if (!existsSync(this.pidFile)) throw new Error(`no pid file at ${this.pidFile}`);
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await expectEventually(() => {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) throw new Error(`broker pid ${pid} still alive`);
    }, 10_000, 100);
  }
}
