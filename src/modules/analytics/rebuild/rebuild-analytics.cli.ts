import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { validateToolEnvironment } from '../../../platform/config/environment';
import { rebuildAnalytics } from './rebuild-analytics';

// npm run analytics:rebuild — with the analytics consumers stopped. See docs/adr/0003-analytics-projections.md.
async function main(): Promise<void> {
  // One argument at most, --accept-partial: `--help` or `--dry-run` must not run the rebuild they look like they prevent.
  const args = process.argv.slice(2);
  if (args.length > 1 || (args.length === 1 && args[0] !== '--accept-partial')) {
    process.stderr.write(
      `analytics:rebuild takes no arguments but --accept-partial (got ${args.join(' ')}); it empties the analytics read models and replays them. See docs/adr/0003-analytics-projections.md\n`,
    );
    process.exit(2);
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = validateToolEnvironment(process.env);
  const report = await rebuildAnalytics(env, { acceptPartial: args[0] === '--accept-partial' });
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
