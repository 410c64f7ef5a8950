import { Logger } from '@nestjs/common';
import { Kafka, KafkaJSSASLAuthenticationError, logLevel } from 'kafkajs';
import { describeKafkaConnection, kafkaClientConfig, KafkaConnectionSettings, KafkaSecuritySettings } from '../kafka/kafka-client';

/** Start-up stops with this error: the configuration cannot work, retrying would only loop. */
export class KafkaAccessError extends Error {
  override readonly name = 'KafkaAccessError';
}

// Node's TLS verification codes: the broker's certificate does not match KAFKA_SSL_CA_FILE or its host.
const TLS_TRUST_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function rootCause(error: unknown): unknown {
  let e = error as { cause?: unknown; originalError?: unknown } | undefined;
  for (let i = 0; i < 5 && e && (e.cause || e.originalError); i++) e = (e.cause ?? e.originalError) as typeof e;
  return e;
}

/**
 * Connects once with the process's own Kafka settings before anything else starts. Credentials the
 * broker rejects, or a certificate it cannot verify, stop start-up with one line naming the variable;
 * an unreachable broker does not (consumers and the producer keep retrying, readiness says so).
 * Plaintext clusters are not probed: there is nothing to reject.
 */
export async function verifyKafkaAccess(env: KafkaConnectionSettings & KafkaSecuritySettings): Promise<void> {
  if (!env.KAFKA_SSL && !env.KAFKA_SASL_MECHANISM) return;
  const logger = new Logger('KafkaAccess');
  const admin = new Kafka({
    ...kafkaClientConfig(env, 'probe'),
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
    logCreator: undefined,
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    logger.log(`Kafka accepts ${describeKafkaConnection(env)}`);
  } catch (error) {
    const cause = rootCause(error);
    if (error instanceof KafkaJSSASLAuthenticationError || cause instanceof KafkaJSSASLAuthenticationError) {
      throw new KafkaAccessError(
        `Kafka rejected the credentials of KAFKA_SASL_USERNAME=${env.KAFKA_SASL_USERNAME} ` +
          `(${env.KAFKA_SASL_MECHANISM?.toUpperCase()}) at ${env.KAFKA_BROKERS}: check KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM`,
      );
    }
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && TLS_TRUST_CODES.has(code)) {
      throw new KafkaAccessError(
        `the Kafka broker's TLS certificate at ${env.KAFKA_BROKERS} is not trusted (${code}): check KAFKA_SSL_CA_FILE`,
      );
    }
    logger.warn(`cannot reach Kafka at ${env.KAFKA_BROKERS} yet; starting anyway, clients retry in the background`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
