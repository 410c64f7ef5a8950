import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, startApp } from './bootstrap';
import { existsSync } from 'node:fs';
import { validateEnvironment } from './platform/config/environment';

async function main(): Promise<void> {
  // .env fills in what the environment does not set (Node's loader never overrides).
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = validateEnvironment(process.env);
  const app = await createApp(env);
  // Nest closes the app on these signals (enableShutdownHooks); this bounds how long that may take.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        new Logger('Shutdown').error(`${signal}: still closing after ${env.SHUTDOWN_TIMEOUT_MS} ms; exiting now`);
        process.exit(1);
      }, env.SHUTDOWN_TIMEOUT_MS).unref();
    });
  }
  await startApp(app, env);
}

main().catch((error: unknown) => {
  new Logger('Bootstrap').error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
