/**
 * Dead-letter tools from the command line (the same as GET/POST /admin/dlq):
 *   npm run dlq -- list <module> [--limit 100] [--pending] [--cursor <nextCursor>]
 *   npm run dlq -- redrive <module> [--id <partition:offset|eventId> ...]
 * Reads KAFKA_BROKERS, KAFKA_CLIENT_ID and the prefixes from the environment or .env.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Partitioners } from 'kafkajs';
import { MODULE_NAMES, ModuleName, validateEnvironment } from '../../config/environment';
import { DeadLetters } from '../dead-letters';
import { createKafka } from '../kafka-client';
import { KafkaNaming } from '../kafka-naming';
import { sendInRequests } from '../kafka-producer';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = validateEnvironment(process.env);
  const [command, module, ...rest] = process.argv.slice(2);
  if (!['list', 'redrive'].includes(command) || !MODULE_NAMES.includes(module as ModuleName)) {
    throw new Error(`usage: npm run dlq -- list|redrive <${MODULE_NAMES.join('|')}> [--limit N] [--pending] [--cursor C] [--id ID ...]`);
  }
  const flag = (name: string) => rest.flatMap((v, i) => (rest[i - 1] === name ? [v] : []));
  const limit = Number(flag('--limit')[0] ?? 1000);
  if (!Number.isInteger(limit) || limit < 1) throw new Error('--limit must be a whole number of at least 1');
  const kafka = createKafka(env, 'dlq-cli');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const tools = new DeadLetters(kafka, new KafkaNaming(env.KAFKA_TOPIC_PREFIX, env.KAFKA_GROUP_PREFIX), async (messages) => {
      // In requests the broker accepts (a page of large letters would exceed its 1 MiB batch limit).
      await sendInRequests(producer, messages);
    });
    if (command === 'list') {
      // --pending: only what is not redriven yet, read from the redrive mark on.
      const { items, nextCursor } = await tools.list(module as ModuleName, { limit, pending: rest.includes('--pending'), cursor: flag('--cursor')[0] });
      for (const d of items) {
        console.log(`${d.id}\t${d.redriven ? 'redriven' : 'parked  '}\t${d.type ?? '-'}\t${d.eventId ?? '-'}\t${d.attempts}x\t${d.errorCode}\t${d.error}`);
      }
      console.error(`${items.length} dead letter(s) in ${module}${nextCursor ? `; more with --cursor ${nextCursor}` : ''}`);
    } else {
      const ids = flag('--id');
      const { redriven } = await tools.redrive(module as ModuleName, ids.length > 0 ? ids : undefined);
      console.error(`redrove ${redriven.length} event(s) of ${module} back to it through ${module}.retry.1`);
    }
  } finally {
    await producer.disconnect();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
