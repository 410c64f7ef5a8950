import { Logger } from '@nestjs/common';
import { Kafka, KafkaConfig, logLevel, LogEntry } from 'kafkajs';
import { Environment } from '../config/environment';

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
    } else if (level === logLevel.WARN) logger.warn(text);
    else if (level === logLevel.INFO) logger.debug(text);
  };
}

/** The only place that builds kafkajs client settings; security options are added here. */
export function kafkaClientConfig(env: Pick<Environment, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>, suffix: string): KafkaConfig {
  return {
    clientId: `${env.KAFKA_CLIENT_ID}-${suffix}`,
    brokers: env.KAFKA_BROKERS.split(','),
    logLevel: logLevel.WARN,
    logCreator,
    connectionTimeout: 3000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
  };
}

export function createKafka(env: Pick<Environment, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>, suffix: string): Kafka {
  return new Kafka(kafkaClientConfig(env, suffix));
}
