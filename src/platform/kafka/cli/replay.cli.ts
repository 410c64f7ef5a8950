// Moves a module's consumer group back (to the earliest retained offsets or to a point in time), so
// its next start replays from there. The group must be stopped.
//
//   npm run replay -- --group analytics --to earliest
//   npm run replay -- --group email --to 2025-06-01T10:00:00Z [--topics order.placed,order.confirmed]
//
// A partition the group has not read up to --to yet stays where it is (moving it would skip events
// it never handled); --forward moves those too.
//
// Topics are logical names (KAFKA_TOPIC_PREFIX is added); default: every topic the group has offsets for
// but its retry topics (name one with --topics to move it too).
//
// A group with no committed offsets at all is refused (a KAFKA_GROUP_PREFIX other than the app's names
// a group nobody runs, and moving it would replay nothing); --new-group with --topics sets where a group
// that never ran will start.
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MODULE_NAMES, ModuleName, validateToolEnvironment } from '../../config/environment';
import { replayableTopics, resetGroupOffsets, ResetTarget } from '../consumer-offsets';
import { createKafka } from '../kafka-client';
import { KafkaNaming } from '../kafka-naming';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run replay -- --group <${MODULE_NAMES.join('|')}> --to <earliest|ISO time> [--topics a,b] [--forward] [--new-group]\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { group: { type: 'string' }, to: { type: 'string' }, topics: { type: 'string' }, forward: { type: 'boolean' }, 'new-group': { type: 'boolean' } } });
  const module = values.group as ModuleName | undefined;
  if (!module || !MODULE_NAMES.includes(module)) usage(`--group must be one of ${MODULE_NAMES.join(', ')}`);
  let to: ResetTarget;
  if (values.to === 'earliest') to = 'earliest';
  else if (values.to && !Number.isNaN(Date.parse(values.to))) to = new Date(values.to);
  else usage('--to must be "earliest" or an ISO 8601 time');

  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = validateToolEnvironment(process.env);
  const naming = new KafkaNaming(env.KAFKA_TOPIC_PREFIX, env.KAFKA_GROUP_PREFIX);
  const groupId = naming.group(module);
  const kafka = createKafka(env, 'replay');
  const admin = kafka.admin();
  await admin.connect();
  const committed = (await admin.fetchOffsets({ groupId }).finally(() => admin.disconnect())).map((t) => t.topic);
  let topics = values.topics?.split(',').map((t) => naming.topic(t.trim()));
  if (topics) {
    // A typo (or a name given with its prefix) would otherwise move nothing and still say "start the module".
    const admin = kafka.admin();
    await admin.connect();
    const existing = new Set(await admin.listTopics().finally(() => admin.disconnect()));
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) usage(`no such topic: ${missing.join(', ')} (--topics takes logical names; KAFKA_TOPIC_PREFIX is added)`);
  } else {
    topics = replayableTopics(committed, naming);
  }
  if (committed.length === 0 && !values['new-group']) {
    usage(
      `group ${groupId} has no committed offsets: if the app runs with another KAFKA_GROUP_PREFIX than '${env.KAFKA_GROUP_PREFIX}', set that one; ` +
        'to set where a group that never ran starts, add --new-group and --topics',
    );
  }
  if (topics.length === 0) usage(`nothing of ${groupId} to move (only retry topics have offsets): name the topics with --topics`);
  const moved = await resetGroupOffsets(kafka, groupId, topics, to, { forward: values.forward });
  for (const p of moved) {
    const note = p.kept ? ' (kept: the group has not read up to there yet; --forward would skip to it)' : '';
    process.stderr.write(`${groupId} ${p.topic}[${p.partition}] -> ${p.offset}${note}\n`);
  }
  const kept = moved.filter((p) => p.kept).length;
  process.stderr.write(`moved ${moved.length - kept} partition(s) of ${groupId} to ${values.to}, kept ${kept} where they were; start the module to replay\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`replay failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
