import { MikroORM, type EntityManager, type EntitySchema, type MigrationObject } from '@mikro-orm/core';
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
      driverOptions: {
        options: `-c search_path="${options.schema}"`,
        connectionTimeoutMillis: 60_000,
        onPoolCreated: returnBrokenConnections,
      },
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

/**
 * Makes the pool take back a connection that broke while checked out. Kysely (under MikroORM) releases a transaction's
 * connection only after a COMMIT or ROLLBACK that succeeded: when the database goes away mid-transaction, or BEGIN
 * itself fails on a dropped connection, it never releases it, and pg's pool counts that dead client against its
 * maximum for good — a few outages and the service would wait for a connection forever after the database is back.
 * So a checked-out client whose connection ends is released here, with the error (the pool discards it), and its
 * `release` becomes idempotent so that the holder's own release, when it does come, is a no-op rather than pg's
 * "released twice" error.
 */
function returnBrokenConnections(pool: pg.Pool): void {
  const checkedOut = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (_err, client) => checkedOut.delete(client));
  pool.on('connect', (client) => {
    // pg-pool assigns a fresh one-shot `release` at every checkout; keep each one, called at most once.
    let release: (err?: Error | boolean) => void = () => undefined;
    Object.defineProperty(client, 'release', {
      configurable: true,
      get: () => release,
      set: (assigned: (err?: Error | boolean) => void) => {
        let done = false;
        release = (err) => {
          if (done) return;
          done = true;
          assigned(err);
        };
      },
    });
    const broken = (err?: Error) => {
      if (checkedOut.has(client)) release(err ?? new Error('Connection terminated unexpectedly'));
    };
    client.on('error', broken);
    client.on('end', () => broken());
  });
}

/** Socket errors that mean the server could not be reached, or the connection to it broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/** SQLSTATEs of a server going away or not taking connections: shutting down (57P01), crashed (57P02), starting (57P03). */
const SERVER_GONE_STATES = new Set(['57P01', '57P02', '57P03']);

/** What pg and its pool say, without a code, when a connection broke, is broken or could not be had in time. */
const CONNECTION_LOST_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
]);

/**
 * Whether `err` says the database cannot be reached at all — refused, reset or dropped connections, a pool that
 * could not hand out a connection, a server shutting down or starting, SQLSTATE class 08 — rather than that one
 * statement failed (a constraint, a deadlock, a bug). The first is nobody's request's fault and passes when the
 * database is back, so the chassis answers 503 with Retry-After and consumers pause instead of spending a message's
 * attempts. MikroORM copies the driver error's `code` and message onto its own exception; causes and the errors of
 * an AggregateError (one per address tried) are looked through.
 */
export function isDatabaseUnreachable(err: unknown, depth = 0): boolean {
  // Read by shape rather than `instanceof Error`: errors of node's own sockets come from another realm under a test
  // runner's VM context, and an AggregateError's members need not share one either.
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const { code, message, errors, cause } = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_GONE_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  if (typeof message === 'string' && CONNECTION_LOST_MESSAGES.has(message)) return true;
  if (Array.isArray(errors) && errors.some((inner) => isDatabaseUnreachable(inner, depth + 1))) return true;
  return isDatabaseUnreachable(cause, depth + 1);
}

/**
 * Runs `work` in a transaction on `em`, which must be a fork private to the caller (a message's, a request's,
 * a sweep's): begin/commit on it rather than em.transactional(), which forks it once more and runs the work in
 * an async context of its own — per-call cost on a hot path, for isolation the fork already gives.
 */
export async function inTransaction<T>(em: EntityManager, work: (em: EntityManager) => Promise<T>): Promise<T> {
  await em.begin();
  try {
    const result = await work(em);
    await em.commit(); // flushes first
    return result;
  } catch (err) {
    // A failed COMMIT has already ended the transaction; the error that matters is the one thrown.
    if (em.isInTransaction()) await em.rollback().catch(() => undefined);
    throw err;
  }
}
