/**
 * Dead-letter tools from the command line (the same as GET/POST /admin/dlq):
 *   npm run dlq -- list <module> [--limit 100] [--pending] [--cursor <nextCursor>]
 *   npm run dlq -- redrive <module> --id <partition:offset|eventId> [--id ...]
 *   npm run dlq -- redrive <module> --all          (everything not redriven yet)
 * Reads KAFKA_BROKERS, KAFKA_CLIENT_ID and the prefixes from the environment or .env.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MODULE_NAMES, ModuleName, validateToolEnvironment } from '../../config/environment';
import { DeadLetters } from '../dead-letters';
import { createKafka } from '../kafka-client';
import { KafkaNaming } from '../kafka-naming';
import { PRODUCER_CONFIG, sendInRequests } from '../kafka-producer';

const USAGE = `usage: npm run dlq -- list <${MODULE_NAMES.join('|')}> [--limit N] [--pending] [--cursor C]
       npm run dlq -- redrive <module> --id <partition:offset|eventId> [--id ...] | --all`;

export type DlqCommand =
  | { command: 'list'; module: ModuleName; limit: number; pending: boolean; cursor?: string }
  | { command: 'redrive'; module: ModuleName; ids?: string[] };

/**
 * The command line, read strictly: an option it does not know, a value where none belongs, or a
 * redrive that names neither ids nor --all stops here. A redrive of everything is never what a
 * mistyped id (`--id=…`, a bare id, `--ids`) turns into: it would send poison back, past the mark.
 */
export function parseDlqArgs(argv: string[]): DlqCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [command, module, ...extra] = positionals;
  if (!['list', 'redrive'].includes(command) || !MODULE_NAMES.includes(module as ModuleName) || extra.length > 0) throw new Error(USAGE);
  if (command === 'list') {
    if (values.id || values.all) throw new Error(`--id and --all belong to redrive\n${USAGE}`);
    const limit = Number(values.limit ?? 1000);
    if (!Number.isInteger(limit) || limit < 1) throw new Error('--limit must be a whole number of at least 1');
    return { command: 'list', module: module as ModuleName, limit, pending: values.pending ?? false, cursor: values.cursor };
  }
  if (values.limit || values.pending || values.cursor) throw new Error(`--limit, --pending and --cursor belong to list\n${USAGE}`);
  const ids = values.id ?? [];
  if ((ids.length > 0) === (values.all ?? false)) throw new Error(`redrive needs the letters to send: --id <id> (one or more), or --all\n${USAGE}`);
  return { command: 'redrive', module: module as ModuleName, ids: values.all ? undefined : ids };
}

const OPTIONS = {
  limit: { type: 'string' },
  pending: { type: 'boolean' },
  cursor: { type: 'string' },
  id: { type: 'string', multiple: true },
  all: { type: 'boolean' },
} as const;

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = validateToolEnvironment(process.env);
  const args = parseDlqArgs(process.argv.slice(2));
  const module = args.module;
  const kafka = createKafka(env, 'dlq-cli');
  // The app's producer settings (kafka-producer.ts says why it is not idempotent).
  const producer = kafka.producer(PRODUCER_CONFIG);
  await producer.connect();
  try {
    const tools = new DeadLetters(kafka, new KafkaNaming(env.KAFKA_TOPIC_PREFIX, env.KAFKA_GROUP_PREFIX), async (messages) => {
      // In requests the broker accepts (a page of large letters would exceed its 1 MiB batch limit).
      await sendInRequests(producer, messages);
    });
    if (args.command === 'list') {
      // --pending: only what is not redriven yet, read from the redrive mark on.
      const { items, nextCursor } = await tools.list(module, { limit: args.limit, pending: args.pending, cursor: args.cursor });
      for (const d of items) {
        console.log(`${d.id}\t${d.redriven ? 'redriven' : 'parked  '}\t${d.type ?? '-'}\t${d.eventId ?? '-'}\t${d.attempts}x\t${d.errorCode}\t${d.error}`);
      }
      console.error(`${items.length} dead letter(s) in ${module}${nextCursor ? `; more with --cursor ${nextCursor}` : ''}`);
    } else {
      const { redriven } = await tools.redrive(module, args.ids);
      console.error(`redrove ${redriven.length} event(s) of ${module} back to it through ${module}.retry.1`);
    }
  } finally {
    await producer.disconnect();
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
