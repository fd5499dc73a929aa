import { MikroORM, type EntitySchema, type MigrationObject } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { Logger } from 'pino';

export interface DatabaseOptions {
  /** The server and database from the environment; the service keeps its tables in its own schema there. */
  databaseUrl: string;
  schema: string;
  entities: EntitySchema[];
  migrations: MigrationObject[];
  logger: Logger;
  poolMax?: number;
}

/**
 * Opens the service's ORM on its own schema, creating the schema and applying the committed migrations
 * first. Instances starting together take turns through an advisory lock, so a migration runs once.
 */
export async function openDatabase(options: DatabaseOptions): Promise<MikroORM<PostgreSqlDriver>> {
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  try {
    await admin.query('select pg_advisory_lock(hashtext($1))', [`migrate:${options.schema}`]);
    await admin.query(`create schema if not exists "${options.schema}"`);
    const orm = await MikroORM.init<PostgreSqlDriver>({
      driver: PostgreSqlDriver,
      clientUrl: options.databaseUrl,
      schema: options.schema,
      entities: options.entities,
      extensions: [Migrator],
      discovery: { warnWhenNoEntities: false },
      allowGlobalContext: false,
      // 6 pooled through knex (tarn): idle connections closed after 30 s, a checkout failing after 60 s. 7 uses
      // pg's Pool, whose defaults are 10 s and no limit at all; both are kept as they were.
      pool: { min: 0, max: options.poolMax ?? 10, idleTimeoutMillis: 30_000 },
      // MikroORM 7 hands driverOptions to pg's Pool itself (6 nested them under knex's `connection`).
      driverOptions: { options: `-c search_path="${options.schema}"`, connectionTimeoutMillis: 60_000 },
      // 7 defaults to true; every column is timestamptz, so keep 6's default and its local-offset formatting.
      forceUtcTimezone: false,
      migrations: {
        migrationsList: options.migrations,
        tableName: 'mikro_orm_migrations',
        transactional: true,
        allOrNothing: true,
        snapshot: false,
      },
      debug: false,
      logger: (message) => options.logger.trace({ orm: message }),
    });
    try {
      const applied = await orm.migrator.up();
      if (applied.length > 0) options.logger.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
    } catch (err) {
      await orm.close(true);
      throw err;
    }
    return orm;
  } finally {
    await admin.query('select pg_advisory_unlock(hashtext($1))', [`migrate:${options.schema}`]).catch(() => undefined);
    await admin.end();
  }
}
