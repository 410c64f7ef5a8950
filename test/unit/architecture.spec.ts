import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MODULE_NAMES } from '../../src/platform/config/environment';

const ROOT = join(__dirname, '..', '..');
const CONFIG = join(ROOT, '.dependency-cruiser.js');
const FIXTURE = join(__dirname, '..', 'fixtures', 'boundary');

/** Runs the dependency-cruiser CLI (what `npm run lint:arch` runs) with the project's rules over `src` under `cwd`. */
async function cruise(cwd: string): Promise<{ exitCode: number; output: string }> {
  const cli = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, '--config', CONFIG, '--output-type', 'err', 'src'], { cwd });
    return { exitCode: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('module boundaries (.dependency-cruiser.js)', () => {
  jest.setTimeout(60_000);

  it('has a boundary rule for every module MODULES can name', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const config = require(CONFIG) as { forbidden: { name: string; severity: string }[] };
    const rules = config.forbidden.filter((r) => r.severity === 'error').map((r) => r.name);
    expect(rules).toEqual(expect.arrayContaining(MODULE_NAMES.map((m) => `${m}-module-boundary`)));
  });

  it('fails on the planted fixture imports and names each one, and only those', async () => {
    const { exitCode, output } = await cruise(FIXTURE);
    expect(exitCode).not.toBe(0);
    const violations = output.split('\n').filter((l) => l.trim().startsWith('error '));
    expect(violations.map((l) => l.trim()).sort()).toEqual([
      'error email-module-boundary: src/modules/email/send-receipt.handler.ts → src/modules/order/order.entity.ts',
      'error platform-knows-no-module: src/platform/kafka/handler-registry.ts → src/modules/warehouse/stock.ts',
    ]);
  });

  it('finds no violation in src/', async () => {
    const { exitCode, output } = await cruise(ROOT);
    expect(output).toContain('no dependency violations found');
    expect(exitCode).toBe(0);
  });
});

describe('docker-compose.yml process layouts', () => {
  interface Service {
    image?: string;
    profiles?: string[];
    environment?: Record<string, string>;
  }
  // No Docker engine here: the file is parsed (js-yaml, already in node_modules through Jest) and its layouts checked.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require('js-yaml') as { load: (text: string) => unknown };
  const { services } = yaml.load(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
  const inProfile = (profile: string | undefined) =>
    Object.entries(services).filter(([, s]) => (profile === undefined ? !s.profiles : s.profiles?.includes(profile)));

  it('runs the monolith with Kafka, Postgres and Mailpit when no profile is given', () => {
    expect(inProfile(undefined).map(([name]) => name).sort()).toEqual(['app', 'kafka', 'mailpit', 'postgres']);
    // No MODULES: every module (the default).
    expect(services.app.environment?.MODULES).toBeUndefined();
  });

  it('runs one container per module from the same image under the split profile', () => {
    const split = inProfile('split');
    expect(split.map(([, s]) => s.environment?.MODULES).sort()).toEqual([...MODULE_NAMES].sort());
    for (const [, service] of split) expect(service.image).toBe(services.app.image);
  });
});
