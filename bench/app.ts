// The app as the bench runs it: a child process of bench/run.ts, configured only by its environment.
import 'reflect-metadata';
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
import { createApp, startApp } from '../src/bootstrap';
import { validateEnvironment } from '../src/platform/config/environment';
import { installCallCounter } from './call-counter';
import { installProfiler } from './profiler';

async function main(): Promise<void> {
  const env = validateEnvironment(process.env);
  if (!env.BENCH_MODE) throw new Error('bench/app.ts runs the app with BENCH_MODE=true only');
  if (process.env.BENCH_COUNT_CALLS === 'true') installCallCounter(); // npm run bench -- --count-calls
  if (process.env.BENCH_PROFILE === 'true') installProfiler(); // npm run bench -- --profile
  const app = await createApp(env);
  const url = await startApp(app, env);
  process.send?.({ url });
  const stop = () => void app.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
