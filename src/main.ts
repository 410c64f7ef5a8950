import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, startApp } from './bootstrap';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { validateEnvironment } from './platform/config/environment';

async function main(): Promise<void> {
  // .env fills in what the environment does not set (Node's loader never overrides).
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = validateEnvironment(process.env);
  let app: NestFastifyApplication | undefined;
  let received = 0;
  // Nest closes the app on these signals (enableShutdownHooks) and then raises the signal again.
  // Ours stay listening, so the process ends the same way wherever it runs: as PID 1 of a container
  // without an init, a signal nobody listens for is ignored, and neither a stop during start-up nor
  // Nest's signal after the close ended the process.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      received++;
      // Still starting (migrations, connections): nothing to drain yet; a migration rolls back with its connection.
      // Received again: Nest's own, after the close (or a second one from outside: exit now).
      if (!app || received > 1) process.exit(128 + constants.signals[signal]);
      // Kept referenced: once the app is closed the loop could empty and end the process (code 0)
      // before Node runs the listener for Nest's raised signal; this keeps it up until that listener exits.
      setTimeout(() => {
        new Logger('Shutdown').error(`${signal}: still closing after ${env.SHUTDOWN_TIMEOUT_MS} ms; exiting now`);
        process.exit(1);
      }, env.SHUTDOWN_TIMEOUT_MS);
    });
  }
  app = await createApp(env);
  await startApp(app, env);
}

main().catch((error: unknown) => {
  new Logger('Bootstrap').error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
