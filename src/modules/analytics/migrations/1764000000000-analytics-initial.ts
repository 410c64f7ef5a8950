import { MigrationInterface, QueryRunner } from 'typeorm';
import { createMessagingTables, dropMessagingTables } from '../../../platform/database/messaging-tables';
import { ANALYTICS_SCHEMA as S } from '../analytics.schema';

export class AnalyticsInitial1764000000000 implements MigrationInterface {
  name = 'AnalyticsInitial1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await createMessagingTables(q, S);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropMessagingTables(q, S);
  }
}
