import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Environment } from '../config/environment';
import { ConsumerProgress } from './consumer-progress';
import { createKafka } from './kafka-client';
import { DeadLetters } from './dead-letters';
import { DeadLettersController } from './dead-letters.controller';
import { KafkaNaming } from './kafka-naming';
import { KafkaProducer } from './kafka-producer';
import { KafkaRegistry } from './kafka-registry';
import { TopicProvisioner } from './topic-provisioner';

/** Process-wide Kafka plumbing: naming, the producer, topic provisioning, dead-letter tools. */
@Global()
@Module({
  providers: [
    {
      provide: KafkaNaming,
      inject: [ConfigService],
      useFactory: (config: ConfigService<Environment, true>) =>
        new KafkaNaming(config.get('KAFKA_TOPIC_PREFIX', { infer: true }), config.get('KAFKA_GROUP_PREFIX', { infer: true })),
    },
    KafkaProducer,
    TopicProvisioner,
    KafkaRegistry,
    ConsumerProgress,
    {
      provide: DeadLetters,
      inject: [ConfigService, KafkaNaming, KafkaProducer],
      useFactory: (config: ConfigService<Environment, true>, naming: KafkaNaming, producer: KafkaProducer) =>
        new DeadLetters(
          createKafka({ KAFKA_BROKERS: config.get('KAFKA_BROKERS'), KAFKA_CLIENT_ID: config.get('KAFKA_CLIENT_ID') }, 'dlq'),
          naming,
          (messages) => producer.send(messages),
        ),
    },
  ],
  controllers: [DeadLettersController],
  exports: [KafkaNaming, KafkaProducer, TopicProvisioner, KafkaRegistry, ConsumerProgress],
})
export class KafkaModule {}
