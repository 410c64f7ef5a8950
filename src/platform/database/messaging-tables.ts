import { QueryRunner } from 'typeorm';

/**
 * The outbox and inbox every module keeps in its own schema. Called from each module's first
 * migration so the tables live and migrate with the module that owns them.
 */
export async function createMessagingTables(queryRunner: QueryRunner, schema: string): Promise<void> {
  await queryRunner.query(`
    CREATE TABLE "${schema}".outbox (
      id bigserial PRIMARY KEY,
      event_id uuid NOT NULL UNIQUE,
      topic text NOT NULL,
      key text NOT NULL,
      envelope jsonb NOT NULL,
      headers jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  // One NOTIFY per inserting statement wakes the relay without a poll.
  await queryRunner.query(`
    CREATE FUNCTION "${schema}".outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('outbox_${schema}', ''); RETURN NULL; END $$`);
  await queryRunner.query(`
    CREATE TRIGGER outbox_notify AFTER INSERT ON "${schema}".outbox
    FOR EACH STATEMENT EXECUTE FUNCTION "${schema}".outbox_notify()`);
  await queryRunner.query(`
    CREATE TABLE "${schema}".inbox (
      event_id uuid NOT NULL,
      handler text NOT NULL,
      type text NOT NULL,
      correlation_id text NOT NULL,
      handled_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (event_id, handler)
    )`);
}

export async function dropMessagingTables(queryRunner: QueryRunner, schema: string): Promise<void> {
  await queryRunner.query(`DROP TABLE IF EXISTS "${schema}".inbox`);
  await queryRunner.query(`DROP TABLE IF EXISTS "${schema}".outbox`);
  await queryRunner.query(`DROP FUNCTION IF EXISTS "${schema}".outbox_notify() CASCADE`);
}
