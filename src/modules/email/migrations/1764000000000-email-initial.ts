import { MigrationInterface, QueryRunner } from 'typeorm';
import { createMessagingTables, dropMessagingTables } from '../../../platform/database/messaging-tables';
import { EMAIL_SCHEMA as S } from '../email.schema';

export class EmailInitial1764000000000 implements MigrationInterface {
  name = 'EmailInitial1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await createMessagingTables(q, S);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropMessagingTables(q, S);
  }
}
