// `KAFKA_SECURE=1 kafka.sh acls`: creates the topics and each module's least-privilege ACLs on the
// local secure broker, as its admin user (see src/platform/security/kafka-acls.ts for what each gets).
import 'reflect-metadata';
import { Kafka, logLevel } from 'kafkajs';
import { existsSync, readFileSync } from 'node:fs';
import { MODULE_NAMES, validateEnvironment } from '../../src/platform/config/environment';
import { KafkaNaming } from '../../src/platform/kafka/kafka-naming';
import { grantModuleAccess } from '../../src/platform/security/kafka-acls';

async function main(): Promise<void> {
  // The prefixes and partition counts the app will use: it reads .env too.
  if (existsSync('.env')) process.loadEnvFile('.env');
  const need = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set (run through: KAFKA_SECURE=1 kafka.sh acls)`);
    return value;
  };
  const kafka = new Kafka({
    clientId: 'grant-acls',
    brokers: need('KAFKA_SECURE_BROKERS').split(','),
    ssl: { ca: [readFileSync(need('KAFKA_SECURE_CA_FILE'))] },
    sasl: { mechanism: 'scram-sha-512', username: 'admin', password: need('KAFKA_SECURE_ADMIN_PASSWORD') },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const env = validateEnvironment(process.env);
    const naming = new KafkaNaming(env.KAFKA_TOPIC_PREFIX, env.KAFKA_GROUP_PREFIX);
    const granted = await grantModuleAccess(admin, naming, [...MODULE_NAMES], {
      partitions: env.KAFKA_TOPIC_PARTITIONS,
      retryPartitions: env.KAFKA_RETRY_TOPIC_PARTITIONS,
      retryLevels: env.KAFKA_RETRY_DELAYS_MS.length,
    });
    for (const a of granted) {
      console.error(
        `[kafka] ${a.principal}: read ${a.reads.join(', ')}; write ${a.writes.join(', ')}; read+write ${a.retryPrefix}*; group ${a.group}`,
      );
    }
  } finally {
    await admin.disconnect();
  }
}

main().catch((e: unknown) => {
  console.error(`[kafka] acls: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
