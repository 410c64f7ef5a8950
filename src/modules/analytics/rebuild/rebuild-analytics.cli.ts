import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { validateEnvironment } from '../../../platform/config/environment';
import { rebuildAnalytics } from './rebuild-analytics';

// npm run analytics:rebuild — with the analytics consumers stopped. See docs/adr/0003-analytics-projections.md.
async function main(): Promise<void> {
  // It takes no arguments: `--help` or `--dry-run` must not run the rebuild they look like they prevent.
  if (process.argv.length > 2) {
    process.stderr.write(`analytics:rebuild takes no arguments (got ${process.argv.slice(2).join(' ')}); it empties the analytics read models and replays them. See docs/adr/0003-analytics-projections.md\n`);
    process.exit(2);
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = validateEnvironment(process.env);
  const report = await rebuildAnalytics(env);
  const partitions = report.partitions.map((p) => `${p.topic}[${p.partition}]@${p.offset}`).join(', ');
  process.stderr.write(
    `analytics read models emptied (${report.truncated.join(', ')}); group ${report.groupId} reset to earliest: ${partitions || 'no topics yet'}\n` +
      'start the analytics module (MODULES including analytics) to replay the topics into the read models\n',
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`analytics rebuild failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
