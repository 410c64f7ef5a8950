import { DynamicModule, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventEmitter } from 'node:events';
import { Client } from 'pg';
import { DataSource, DataSourceOptions, MixedList } from 'typeorm';
import { Environment, ModuleName } from '../config/environment';
import { databaseUrlFor, KEEP_ALIVE } from './database-url';

export interface ModuleDatabaseOptions {
  module: ModuleName;
  /** The Postgres schema the module owns; nothing else reads or writes it. */
  schema: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function>;
}

/**
 * One TypeORM connection per module, named after it, bound to the module's own schema and
 * migrations. `<MODULE>_DATABASE_URL` can point a module at its own database.
 */
@Module({})
export class ModuleDatabaseModule {
  static forModule(options: ModuleDatabaseOptions): DynamicModule {
    const logger = new Logger(`Database:${options.module}`);
    return {
      module: ModuleDatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          name: options.module,
          inject: [ConfigService],
          useFactory: (config: ConfigService<Environment, true>): DataSourceOptions & { name: string } => ({
            // The name here too: TypeORM's shutdown hook finds the connection by these options.
            name: options.module,
            type: 'postgres',
            url: databaseUrlFor(config, options.module),
            schema: options.schema,
            entities: options.entities,
            migrations: options.migrations,
            migrationsTableName: 'migrations',
            migrationsRun: false,
            synchronize: false,
            extra: {
              max: config.get('DATABASE_POOL_SIZE', { infer: true }),
              pipeline: config.get('DATABASE_PIPELINE', { infer: true }),
              application_name: `shop:${options.module}`,
              // A session frozen mid-transaction loses it (and its locks) after this; 0 sends nothing (never).
              idle_in_transaction_session_timeout: config.get('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', { infer: true }) || undefined,
              ...KEEP_ALIVE,
            },
          }),
          dataSourceFactory: async (dsOptions) => {
            const ds = new DataSource(dsOptions!);
            await migrate(ds, options, logger);
            return ds;
          },
        }),
        TypeOrmModule.forFeature(options.entities as never, options.module),
      ],
      exports: [TypeOrmModule],
    };
  }
}

/** Creates the module's schema and runs its migrations under an advisory lock, so two
 * processes starting together do not race. */
async function migrate(ds: DataSource, options: ModuleDatabaseOptions, logger: Logger): Promise<void> {
  const url = (ds.options as { url: string }).url;
  const lock = new Client({ connectionString: url, ...KEEP_ALIVE });
  lock.on('error', () => undefined); // a cut connection rejects the pending query; no crash
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`migrate:${options.schema}`]);
    await lock.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
    await ds.initialize();
    guardPoolClients(ds, logger);
    const ran = await ds.runMigrations({ transaction: 'each' });
    if (ran.length > 0) logger.log(`schema ${options.schema}: ran ${ran.map((m) => m.name).join(', ')}`);
  } finally {
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [`migrate:${options.schema}`]).catch(() => undefined);
    await lock.end();
  }
}

/**
 * Every pooled connection always has an 'error' listener. When Postgres restarts or terminates
 * backends, pg can emit 'error' on a client more than once; TypeORM listens only while a query
 * runner holds the client, and an 'error' with no listener kills the process (found by the chaos
 * suite's connection-cut scenario). The failing query still rejects and is handled as usual.
 */
function guardPoolClients(ds: DataSource, logger: Logger): void {
  const pool = (ds.driver as unknown as { master?: EventEmitter & { _clients?: EventEmitter[] } }).master;
  if (!pool) return;
  const guard = (client: EventEmitter) => {
    if (client.listenerCount('error') === 0 || !(client as { __guarded?: boolean }).__guarded) {
      client.on('error', (e: Error) => logger.warn(`connection lost: ${e.message}`));
      (client as { __guarded?: boolean }).__guarded = true;
    }
  };
  pool.on('connect', guard);
  pool._clients?.forEach(guard);
}
