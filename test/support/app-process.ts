import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { expectEventually } from './eventually';
import { ADMIN_TOKEN, TestStack } from './test-app';

const ROOT = join(__dirname, '..', '..');

export interface AppBuild {
  /** The compiled app (its `main.js` is what the image runs). */
  dir: string;
  remove: () => Promise<void>;
}

/**
 * Compiles src/ once for a suite, the way the image does (tsconfig.build.json plus nest-cli's assets),
 * into a git-ignored folder inside the repo so the app still resolves the repo's node_modules, and
 * without touching the shared dist/.
 */
export async function buildApp(): Promise<AppBuild> {
  const dir = join(ROOT, '.cache', `app-build-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const tsc = require.resolve('typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dir], { cwd: ROOT, maxBuffer: 16 << 20 });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const out = error as { stdout?: string; stderr?: string };
    throw new Error(`the app does not build:\n${out.stdout ?? ''}${out.stderr ?? ''}`);
  }
  // nest-cli.json "assets": the analytics dashboard reads its static files next to its compiled controller.
  const assets = join('modules', 'analytics', 'dashboard', 'public');
  await cp(join(ROOT, 'src', assets), join(dir, assets), { recursive: true });
  await stat(join(dir, 'main.js'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A free TCP port on 127.0.0.1 (kept by the caller across restarts of one process role). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface AppProcess {
  name: string;
  modules: string[];
  url: string;
  http: TestAgent;
  admin: { Authorization: string };
  pid: number;
  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  output: () => string;
  /** SIGTERM, then waits for the exit; rejects if the process does not exit in time. */
  stop: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  /** A label for failure messages, e.g. 'email'. */
  name: string;
  build: AppBuild;
  stack: TestStack;
  /** `MODULES`, e.g. 'email' or 'order,warehouse,analytics'. */
  modules: string;
  port?: number;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Run node as PID 1 of a PID namespace of its own (`unshare`), as in a container without an init. */
  pid1?: boolean;
  /** Return once the process is spawned, without waiting for readiness (`http` still points at it). */
  noWait?: boolean;
}

const running = new Set<ChildProcess>();

/**
 * Starts `node <build>/main.js` as its own process with the suite's database and Kafka namespace,
 * and waits until GET /health/ready answers 200 (every module it runs has joined its group).
 * The environment is built from scratch: nothing leaks in from the developer's shell or .env.
 */
export async function startAppProcess(options: StartOptions): Promise<AppProcess> {
  const port = options.port ?? (await freePort());
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    MODULES: options.modules,
    DATABASE_URL: options.stack.databaseUrl,
    DATABASE_POOL_SIZE: '5',
    KAFKA_BROKERS: options.stack.brokers,
    KAFKA_TOPIC_PREFIX: options.stack.prefix,
    KAFKA_GROUP_PREFIX: options.stack.prefix,
    KAFKA_TOPIC_PARTITIONS: '3',
    KAFKA_RETRY_BACKOFF_MS: '50',
    KAFKA_AUTOSTART_LOCAL: 'false',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
    OUTBOX_POLL_MS: '200',
    ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  // cwd is the build folder: main.ts loads a .env from its cwd, and the repo's must not apply here.
  const main = [process.execPath, join(options.build.dir, 'main.js')];
  const [command, ...args] = options.pid1 ? ['unshare', '--pid', '--fork', '--kill-child', ...main] : main;
  const child = spawn(command, args, { cwd: options.build.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => (exit = e));

  const url = `http://127.0.0.1:${port}`;
  const output = () => lines.join('\n');
  const http = request(url);
  try {
    if (!options.noWait) await Promise.race([
      expectEventually(
        async () => {
          const res = await http.get('/health/ready').timeout(3000);
          if (res.status !== 200) throw new Error(`${options.name} not ready: ${JSON.stringify(res.body)}`);
        },
        options.readyTimeoutMs ?? 60_000,
        250,
      ),
      exited.then(({ code, signal }) => {
        throw new Error(`${options.name} exited (${code ?? signal}) before it was ready`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- ${options.name} output ---\n${output()}`);
  }

  // Under unshare, node is unshare's only child: signals go to it, as a container runtime's do.
  const pid = options.pid1
    ? await expectEventually(async () => {
        const children = (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')).trim();
        expect(children).toMatch(/^\d+$/);
        return Number(children);
      }, 10_000, 20)
    : child.pid!;
  return {
    name: options.name,
    modules: options.modules.split(','),
    url,
    http,
    admin: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    pid,
    output,
    stop: async () => {
      if (exit) return exit;
      process.kill(pid, 'SIGTERM');
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${options.name} did not exit within 20 s of SIGTERM:\n${output()}`)), 20_000).unref(),
      );
      try {
        return await Promise.race([exited, timeout]);
      } catch (error) {
        child.kill('SIGKILL');
        await exited;
        throw error;
      }
    },
  };
}

/** Kills whatever a suite left running (a failed test must not leave apps on the broker). */
export async function killAppProcesses(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}
