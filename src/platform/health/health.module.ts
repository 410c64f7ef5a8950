import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { ConsumerGroupHealthIndicator } from './indicators/consumer-group.indicator';
import { DatabaseHealthIndicator } from './indicators/database.indicator';
import { KafkaProducerHealthIndicator } from './indicators/kafka-producer.indicator';
import { OutboxBacklogHealthIndicator } from './indicators/outbox-backlog.indicator';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'pretty', logger: false })],
  controllers: [HealthController],
  providers: [DatabaseHealthIndicator, KafkaProducerHealthIndicator, ConsumerGroupHealthIndicator, OutboxBacklogHealthIndicator],
})
export class HealthModule {}
