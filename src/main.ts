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
  await startApp(app, env);
}

main().catch((error: unknown) => {
  new Logger('Bootstrap').error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
