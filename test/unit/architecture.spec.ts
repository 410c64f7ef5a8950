import { execFile } from 'node:child_process';
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
