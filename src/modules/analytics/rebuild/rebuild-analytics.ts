import { Client } from 'pg';
import { EVENTS } from '../../../contracts';
import { Environment } from '../../../platform/config/environment';
import { KEEP_ALIVE } from '../../../platform/database/database-url';
import { assertGroupIdle, PartitionReset, resetGroupOffsets } from '../../../platform/kafka/consumer-offsets';
import { createKafka } from '../../../platform/kafka/kafka-client';
import { KafkaNaming } from '../../../platform/kafka/kafka-naming';
import { ANALYTICS_SCHEMA as S } from '../analytics.schema';

/** Everything analytics derives from the topics: emptied together, so a replay starts from nothing. */
const READ_MODELS = ['order_facts', 'totals', 'minute_buckets', 'product_sales', 'products', 'inbox'] as const;

export interface RebuildReport {
  groupId: string;
  truncated: readonly string[];
  partitions: PartitionReset[];
}

/**
 * Prepares a rebuild of the analytics read models from the topics: refuses while the analytics
 * group has live consumers, moves the group to the earliest offsets, and empties the read models
 * and the inbox. The next analytics consumer to start replays everything the topics retain.
 * Safe to run again if it stops half-way (both steps are idempotent).
 */
export async function rebuildAnalytics(
  env: Pick<Environment, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID' | 'KAFKA_TOPIC_PREFIX' | 'KAFKA_GROUP_PREFIX' | 'DATABASE_URL' | 'ANALYTICS_DATABASE_URL'>,
  { acceptPartial = false }: { acceptPartial?: boolean } = {},
): Promise<RebuildReport> {
  const naming = new KafkaNaming(env.KAFKA_TOPIC_PREFIX, env.KAFKA_GROUP_PREFIX);
  const groupId = naming.group('analytics');
  const topics = [...new Set(Object.values(EVENTS).map((e) => naming.topic(e.topic)))];
  const kafka = createKafka(env, 'analytics-rebuild');
  const admin = kafka.admin();
  await admin.connect();
  let partitions: PartitionReset[];
  try {
    // Checked before anything moves: a live consumer would refill the tables from its current offsets.
    await assertGroupIdle(admin, groupId);
    // The read models are rebuilt from what the topics still hold: once retention has deleted their
    // start, a rebuild would lose every order before it, for good.
    if (!acceptPartial) {
      const existing = new Set(await admin.listTopics());
      const trimmed: string[] = [];
      for (const topic of topics.filter((t) => existing.has(t))) {
        for (const p of await admin.fetchTopicOffsets(topic)) if (BigInt(p.low) > 0n) trimmed.push(`${topic}[${p.partition}] from offset ${p.low}`);
      }
      if (trimmed.length > 0) {
        throw new Error(
          `the topics no longer hold their whole history (retention deleted it): ${trimmed.join(', ')}. ` +
            'A rebuild would keep only what is left; nothing was changed. Run with --accept-partial to do it anyway',
        );
      }
    }
    // Offsets first: if moving them fails, nothing is emptied (and offsets moved without a truncate
    // are harmless: the inbox skips what was applied). Emptied first, a failed move left the tables
    // empty and the group reading on from where it was.
    partitions = await resetGroupOffsets(kafka, groupId, topics, 'earliest');
    // Checked again with the read models locked: a consumer that started after the move and wrote
    // (and committed offsets) would have those events wiped by the truncate, for good. One that
    // starts after this check waits for the lock, then reads from the earliest offsets: all is replayed.
    await truncateReadModels(env.ANALYTICS_DATABASE_URL ?? env.DATABASE_URL, () =>
      assertGroupIdle(admin, groupId).catch((e: unknown) => {
        throw new Error(`${e instanceof Error ? e.message : String(e)} (its offsets were moved to the earliest; nothing was emptied)`);
      }),
    );
  } finally {
    await admin.disconnect();
  }
  return { groupId, truncated: READ_MODELS, partitions };
}

/** Empties the read models under their lock, once `stillIdle` (run holding it) has passed. */
async function truncateReadModels(databaseUrl: string, stillIdle: () => Promise<void>): Promise<void> {
  const db = new Client({ connectionString: databaseUrl, application_name: 'shop:analytics-rebuild', ...KEEP_ALIVE });
  await db.connect();
  try {
    const tables = READ_MODELS.map((t) => `"${S}".${t}`).join(', ');
    await db.query('BEGIN');
    await db.query(`LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`);
    await stillIdle();
    await db.query(`TRUNCATE ${tables}`);
    await db.query(`UPDATE "${S}".projection_state SET version = 0 WHERE id = 1`);
    await db.query('COMMIT');
  } catch (e) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await db.end();
  }
}
