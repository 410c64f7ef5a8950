/**
 * Writes docs/asyncapi.yaml from src/contracts and the modules' event handlers:
 *   npm run docs:asyncapi            regenerate the document
 *   npm run docs:asyncapi -- --check exit 1 when the document is out of date
 * Consumer groups are read from the handlers' @On<Module>Event metadata, so they cannot drift
 * either. (This lives in scripts/, not in platform/, because it must import the modules.)
 */
import 'reflect-metadata';
import { Type } from '@nestjs/common';
import { PATTERN_EXTRAS_METADATA, PATTERN_METADATA } from '@nestjs/microservices/constants';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_MODULES } from '../src/app.module';
import { buildAsyncApi } from '../src/platform/observability/asyncapi/asyncapi';
import { toYaml } from '../src/platform/observability/asyncapi/yaml';

export const ASYNCAPI_PATH = join(__dirname, '..', 'docs', 'asyncapi.yaml');

/** Controllers of a Nest module and of the modules it imports. */
function controllersOf(module: unknown, seen = new Set<unknown>()): Type[] {
  if (!module || seen.has(module)) return [];
  seen.add(module);
  const dynamic = typeof module === 'object' ? (module as { module: Type; controllers?: Type[]; imports?: unknown[] }) : undefined;
  const cls = dynamic ? dynamic.module : (module as Type);
  const own: Type[] = [...((Reflect.getMetadata('controllers', cls) as Type[] | undefined) ?? []), ...(dynamic?.controllers ?? [])];
  const imports = [...((Reflect.getMetadata('imports', cls) as unknown[] | undefined) ?? []), ...(dynamic?.imports ?? [])];
  return [...own, ...imports.flatMap((i) => controllersOf(i, seen))];
}

/** Event type → the modules whose consumer group handles it, from the handler decorators. */
export function consumersFromHandlers(): Record<string, string[]> {
  const consumers: Record<string, string[]> = {};
  for (const [name, module] of Object.entries(FEATURE_MODULES)) {
    for (const controller of controllersOf(module)) {
      const proto = controller.prototype as Record<string, unknown>;
      for (const method of Object.getOwnPropertyNames(proto)) {
        const fn = proto[method];
        if (typeof fn !== 'function') continue;
        const patterns = Reflect.getMetadata(PATTERN_METADATA, fn) as unknown[] | undefined;
        if (!patterns) continue;
        const owner = (Reflect.getMetadata(PATTERN_EXTRAS_METADATA, fn) as { module?: string } | undefined)?.module ?? name;
        for (const pattern of patterns) consumers[String(pattern)] = [...new Set([...(consumers[String(pattern)] ?? []), owner])];
      }
    }
  }
  return consumers;
}

/** The document as it should be now. */
export function generateAsyncApi(): string {
  return toYaml(buildAsyncApi({ consumers: consumersFromHandlers() }));
}

if (require.main === module) {
  const expected = generateAsyncApi();
  if (process.argv.includes('--check')) {
    const actual = readFileSync(ASYNCAPI_PATH, 'utf8');
    if (actual !== expected) {
      console.error('docs/asyncapi.yaml is out of date: run npm run docs:asyncapi');
      process.exit(1);
    }
  } else {
    writeFileSync(ASYNCAPI_PATH, expected);
    console.log(`wrote ${ASYNCAPI_PATH}`);
  }
}
