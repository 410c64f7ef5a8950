import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { ConnectionOptions } from 'node:tls';
import { Kafka, KafkaConfig, logLevel, LogEntry, SASLOptions } from 'kafkajs';
import { Environment } from '../config/environment';
import { applyKafkajsFixes, KAFKAJS_FIXED_VERSION } from './kafkajs-fixes';

/** kafkajs messages go through Nest's logger; retriable chatter during start-up is debug-level. */
function logCreator() {
  const logger = new Logger('kafkajs');
  return ({ level, log }: LogEntry) => {
    const { message, ...rest } = log;
    const text = `${message}${rest.error ? ` (${String(rest.error)})` : ''}`;
    if (level === logLevel.ERROR) {
      // Retriable answers that are normal right after a broker start or a topic creation.
      if (/coordinator (is loading|is not available)|does not host this topic|not the leader for that topic|leadership election/i.test(text)) {
        logger.debug(text);
      } else {
        logger.error(text);
      }
    } else if (level === logLevel.WARN) {
      logger.warn(text);
    }
    else if (level === logLevel.INFO) logger.debug(text);
  };
}

/** The variables that say how to reach and authenticate to the cluster (docs/security.md). */
export type KafkaSecuritySettings = Pick<
  Environment,
  | 'KAFKA_SSL'
  | 'KAFKA_SSL_CA_FILE'
  | 'KAFKA_SSL_CERT_FILE'
  | 'KAFKA_SSL_KEY_FILE'
  | 'KAFKA_SSL_REJECT_UNAUTHORIZED'
  | 'KAFKA_SASL_MECHANISM'
  | 'KAFKA_SASL_USERNAME'
  | 'KAFKA_SASL_PASSWORD'
>;

export type KafkaConnectionSettings = Pick<Environment, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'> & Partial<KafkaSecuritySettings>;

const SECURITY_KEYS: (keyof KafkaSecuritySettings)[] = [
  'KAFKA_SSL',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SSL_CERT_FILE',
  'KAFKA_SSL_KEY_FILE',
  'KAFKA_SSL_REJECT_UNAUTHORIZED',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
];

// A process has one Kafka identity per cluster. Providers that only pass brokers and client id get
// the security the app registered for them at start-up (registerKafkaSecurity), so no client of
// the process can connect in plaintext or as another principal by accident.
const registered = new Map<string, KafkaSecuritySettings>();
const registrationKey = (env: Pick<Environment, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>) => `${env.KAFKA_CLIENT_ID}@${env.KAFKA_BROKERS}`;

/** Makes `env`'s security apply to every client later built for the same brokers and client id. */
export function registerKafkaSecurity(env: KafkaConnectionSettings & KafkaSecuritySettings): void {
  const security = Object.fromEntries(SECURITY_KEYS.map((k) => [k, env[k]])) as KafkaSecuritySettings;
  registered.set(registrationKey(env), security);
}

function securityOf(env: KafkaConnectionSettings): Partial<KafkaSecuritySettings> {
  const explicit = SECURITY_KEYS.some((k) => env[k] !== undefined);
  return explicit ? env : (registered.get(registrationKey(env)) ?? {});
}

const readPem = (path: string) => readFileSync(path);

/** kafkajs `ssl` and `sasl` options for the settings; nothing when the cluster is plaintext. */
export function kafkaSecurityOptions(env: Partial<KafkaSecuritySettings>): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (env.KAFKA_SSL) {
    const tls: ConnectionOptions = { rejectUnauthorized: env.KAFKA_SSL_REJECT_UNAUTHORIZED ?? true };
    if (env.KAFKA_SSL_CA_FILE) tls.ca = [readPem(env.KAFKA_SSL_CA_FILE)];
    if (env.KAFKA_SSL_CERT_FILE) tls.cert = readPem(env.KAFKA_SSL_CERT_FILE);
    if (env.KAFKA_SSL_KEY_FILE) tls.key = readPem(env.KAFKA_SSL_KEY_FILE);
    options.ssl = tls;
  }
  if (env.KAFKA_SASL_MECHANISM) {
    options.sasl = {
      mechanism: env.KAFKA_SASL_MECHANISM,
      username: env.KAFKA_SASL_USERNAME ?? '',
      password: env.KAFKA_SASL_PASSWORD ?? '',
    } as SASLOptions;
  }
  return options;
}

/** How the process connects, for logs: protocol and principal, never the password. */
export function describeKafkaConnection(env: KafkaConnectionSettings): string {
  const security = securityOf(env);
  const protocol = `${security.KAFKA_SASL_MECHANISM ? 'SASL_' : ''}${security.KAFKA_SSL ? 'SSL' : 'PLAINTEXT'}`;
  const principal = security.KAFKA_SASL_MECHANISM
    ? ` as ${security.KAFKA_SASL_USERNAME} (${security.KAFKA_SASL_MECHANISM.toUpperCase()})`
    : '';
  return `${protocol} ${env.KAFKA_BROKERS}${principal}`;
}

let fixesChecked = false;

/** kafkajs' unreleased fixes go in before the process' first client (kafkajs-fixes.ts). */
function ensureKafkajsFixes(): void {
  if (fixesChecked) return;
  fixesChecked = true;
  if (!applyKafkajsFixes()) {
    new Logger('kafkajs').warn(`kafkajs is not ${KAFKAJS_FIXED_VERSION}: its fixes were not applied (see src/platform/kafka/kafkajs-fixes.ts)`);
  }
}

/** The only place that builds kafkajs client settings; security options are added here. */
export function kafkaClientConfig(env: KafkaConnectionSettings, suffix: string): KafkaConfig {
  ensureKafkajsFixes();
  return {
    clientId: `${env.KAFKA_CLIENT_ID}-${suffix}`,
    brokers: env.KAFKA_BROKERS.split(','),
    logLevel: logLevel.WARN,
    logCreator,
    connectionTimeout: 3000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    ...kafkaSecurityOptions(securityOf(env)),
  };
}

export function createKafka(env: KafkaConnectionSettings, suffix: string): Kafka {
  return new Kafka(kafkaClientConfig(env, suffix));
}
