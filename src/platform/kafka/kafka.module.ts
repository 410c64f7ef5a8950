import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Environment } from '../config/environment';
import { KafkaNaming } from './kafka-naming';
import { KafkaProducer } from './kafka-producer';
import { KafkaRegistry } from './kafka-registry';
import { TopicProvisioner } from './topic-provisioner';

/** Process-wide Kafka plumbing: naming, the producer, topic provisioning. */
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
  ],
  exports: [KafkaNaming, KafkaProducer, TopicProvisioner, KafkaRegistry],
})
export class KafkaModule {}
