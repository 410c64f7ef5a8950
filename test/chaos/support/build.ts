import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import * as ts from 'typescript';

const root = join(__dirname, '..', '..', '..');

/**
 * Transpiles src/ once into a temp dir (no type check: `npm test` does that; the project sets
 * isolatedModules, so per-file transpiling is exact) and returns the path of main.js.
 * A snapshot also shields a run from edits made to src/ while it runs.
 * CHAOS_APP_REF=<git ref> builds that commit instead of the working tree.
 */
export function buildApp(ref = process.env.CHAOS_APP_REF): { dir: string; main: string } {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-app-'));
  let source = root;
  if (ref) {
    source = join(dir, 'checkout');
    mkdirSync(source);
    const archive = execFileSync('git', ['-C', root, 'archive', ref, 'src', 'docs']);
    execFileSync('tar', ['-x', '-C', source], { input: archive });
  }
  const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => readFileSync(p, 'utf8'));
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const compilerOptions = { ...options, sourceMap: false, incremental: false, declaration: false, outDir: undefined };
  const out = join(dir, 'app');
  for (const file of walk(join(source, 'src'))) {
    const target = join(out, 'src', relative(join(source, 'src'), file));
    mkdirSync(dirname(target), { recursive: true });
    if (file.endsWith('.ts')) {
      if (file.endsWith('.spec.ts') || file.endsWith('.d.ts')) continue;
      const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
      writeFileSync(target.replace(/\.ts$/, '.js'), outputText);
    } else {
      cpSync(file, target); // assets (dashboard html/js/css)
    }
  }
  cpSync(join(source, 'docs'), join(out, 'docs'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
  return { dir, main: join(out, 'src', 'main.js') };
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
