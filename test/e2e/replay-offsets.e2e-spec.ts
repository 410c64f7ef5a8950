import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka } from 'kafkajs';
import { resetGroupOffsets } from '../../src/platform/kafka/consumer-offsets';
import { expectEventually } from '../support/eventually';
import { createTopic, publish, testKafka } from '../support/kafka';
import { createTestStack, TestStack } from '../support/test-app';

/** `npm run replay`'s offset moves, on the real broker: a replay rewinds, and never skips by accident. */
describe(resetGroupOffsets.name, () => {
  let stack: TestStack;
  let kafka: Kafka;
  let topic: string;
  /** The first offset written after this time: the fourth message. */
  let between: Date;

  beforeAll(async () => {
    stack = await createTestStack('replay');
    kafka = testKafka(stack.brokers);
    topic = `${stack.prefix}replay.events`;
    await createTopic(kafka, topic, 1);
    const batch = (n: number) => Array.from({ length: 3 }, (_, i) => ({ key: 'k', value: { n: n + i } }));
    await publish(kafka, topic, batch(0));
    const last = Date.now();
    await expectEventually(() => expect(Date.now()).toBeGreaterThan(last + 5)); // later than every record of the first three
    between = new Date();
    await publish(kafka, topic, batch(3));
  });

  afterAll(async () => {
    await stack?.drop();
  });

  const committed = async (groupId: string) => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [{ partitions }] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return partitions.map((p) => p.offset);
    } finally {
      await admin.disconnect();
    }
  };

  it('keeps a group that has not read up to the time where it is, instead of skipping the events in between', async () => {
    const groupId = `${stack.prefix}replay-${randomUUID()}`;
    await resetGroupOffsets(kafka, groupId, [topic], 'earliest');
    expect(await committed(groupId)).toEqual(['0']);

    const kept = await resetGroupOffsets(kafka, groupId, [topic], between);
    expect(kept).toEqual([{ topic, partition: 0, offset: '0', kept: true }]);
    expect(await committed(groupId)).toEqual(['0']);
    // A time in the future (a local time read as UTC, say) would have moved it to the end.
    await resetGroupOffsets(kafka, groupId, [topic], new Date(Date.now() + 3_600_000));
    expect(await committed(groupId)).toEqual(['0']);
  });

  it('moves a group back to a time, and forward only when asked', async () => {
    const groupId = `${stack.prefix}replay-${randomUUID()}`;
    // A group without offsets reads from the earliest: a time after it is forward too.
    expect((await resetGroupOffsets(kafka, groupId, [topic], between))[0]).toMatchObject({ offset: '0', kept: true });
    await resetGroupOffsets(kafka, groupId, [topic], new Date(Date.now() + 3_600_000), { forward: true });
    expect(await committed(groupId)).toEqual(['6']);
    expect(await resetGroupOffsets(kafka, groupId, [topic], between)).toEqual([{ topic, partition: 0, offset: '3' }]);
    expect(await committed(groupId)).toEqual(['3']);
    await resetGroupOffsets(kafka, groupId, [topic], 'earliest');
    expect(await committed(groupId)).toEqual(['0']);
  });
});

describe('the replay and rebuild command lines (real processes)', () => {
  let stack: TestStack;
  const root = join(__dirname, '../..');
  /** Runs a CLI in a directory without a .env, with the stack's settings, bounded in time. */
  const run = (script: string, args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), join(root, script), ...args], {
      cwd: mkdtempSync(join(tmpdir(), 'cli-')),
      env: { PATH: process.env.PATH, TS_NODE_PROJECT: join(root, 'tsconfig.json'), ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });

  beforeAll(async () => {
    stack = await createTestStack('replaycli');
  });

  afterAll(async () => {
    await stack?.drop();
  });

  it('refuses a topic that does not exist instead of moving nothing and saying "start the module"', () => {
    const result = run('src/platform/kafka/cli/replay.cli.ts', ['--group', 'email', '--to', 'earliest', '--topics', 'no.such.topic'], {
      KAFKA_BROKERS: stack.brokers,
      KAFKA_TOPIC_PREFIX: stack.prefix,
      KAFKA_GROUP_PREFIX: stack.prefix,
      DATABASE_URL: stack.databaseUrl,
    });
    expect([result.status, result.stderr]).toEqual([2, expect.stringContaining(`no such topic: ${stack.prefix}no.such.topic`)]);
  });

  it('refuses a group with no committed offsets (another KAFKA_GROUP_PREFIX?) unless --new-group says to set where it starts', async () => {
    const kafka = testKafka(stack.brokers);
    await createTopic(kafka, `${stack.prefix}order.placed`, 1);
    const env = { KAFKA_BROKERS: stack.brokers, KAFKA_TOPIC_PREFIX: stack.prefix, KAFKA_GROUP_PREFIX: `${stack.prefix}typo.`, DATABASE_URL: stack.databaseUrl };
    const args = ['--group', 'email', '--to', 'earliest', '--topics', 'order.placed'];
    const refused = run('src/platform/kafka/cli/replay.cli.ts', args, env);
    expect([refused.status, refused.stderr]).toEqual([2, expect.stringContaining(`group ${stack.prefix}typo.email has no committed offsets`)]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.fetchOffsets({ groupId: `${stack.prefix}typo.email` })).toEqual([]);
      const started = run('src/platform/kafka/cli/replay.cli.ts', [...args, '--new-group'], env);
      expect(started.status).toBe(0);
      expect((await admin.fetchOffsets({ groupId: `${stack.prefix}typo.email` })).map((t) => t.topic)).toEqual([`${stack.prefix}order.placed`]);
    } finally {
      await admin.disconnect();
    }
  });

  it('runs no rebuild for an argument it does not take (--help, --dry-run)', () => {
    const result = run('src/modules/analytics/rebuild/rebuild-analytics.cli.ts', ['--dry-run'], { DATABASE_URL: stack.databaseUrl, KAFKA_BROKERS: stack.brokers });
    expect([result.status, result.stderr]).toEqual([2, expect.stringContaining('takes no arguments')]);
  });
});
