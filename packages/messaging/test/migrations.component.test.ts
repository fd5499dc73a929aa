import { Migration } from '@mikro-orm/migrations';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from '@onboarding/service-kit';
import { createTestDatabase, type TestResource } from '@onboarding/test-infra';
import { messagingTables } from '../src';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * A service's initial migration as it ran before the messaging tables got their own migration: the outbox
 * and inbox DDL of packages/messaging/src/sql.ts at 371a0ac, verbatim (not idempotent), plus a table of its own.
 */
class LegacyInitial extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create table "${schema}"."thing" ("id" uuid primary key)`);
    this.addSql(`create table "${schema}"."outbox" (
      "seq" bigserial primary key,
      "id" uuid not null unique,
      "type" varchar(255) not null,
      "routing_key" varchar(255) not null,
      "payload" jsonb not null,
      "headers" jsonb not null default '{}',
      "created_at" timestamptz not null default now(),
      "published_at" timestamptz null
    )`);
    this.addSql(`create index "outbox_unpublished_idx" on "${schema}"."outbox" ("seq") where "published_at" is null`);
    this.addSql(`create or replace function "${schema}"."notify_outbox"() returns trigger language plpgsql as $$
      begin perform pg_notify('${schema}_outbox', ''); return null; end $$`);
    this.addSql(`create trigger "outbox_notify" after insert on "${schema}"."outbox"
      for each statement execute function "${schema}"."notify_outbox"()`);
    this.addSql(`create table "${schema}"."inbox" (
      "consumer" varchar(255) not null,
      "message_id" varchar(255) not null,
      "processed_at" timestamptz not null default now(),
      primary key ("consumer", "message_id")
    )`);
  }
}

/** The same service's initial migration as committed now: its own table only. */
class CurrentInitial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "${this.config.get('schema')!}"."thing" ("id" uuid primary key)`);
  }
}

const initial = (migration: typeof LegacyInitial) => ({ name: 'Migration20261121000000_initial', class: migration });

let database: TestResource;
beforeAll(async () => {
  database = await createTestDatabase('messaging-migrations');
});
afterAll(() => database?.drop());

async function migrate(schema: string, service: typeof LegacyInitial, withMessaging: boolean): Promise<void> {
  const orm = await openDatabase({
    databaseUrl: database.url,
    schema,
    entities: [...messagingTables.entities],
    migrations: [...(withMessaging ? messagingTables.migrations : []), initial(service)],
    logger,
  });
  await orm.close();
}

async function query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function messagingShape(schema: string) {
  const columns = await query<{ table_name: string; column_name: string; data_type: string }>(
    `select table_name, column_name, data_type from information_schema.columns
      where table_schema = $1 and table_name in ('outbox', 'inbox') order by table_name, ordinal_position`,
    [schema],
  );
  const triggers = await query<{ tgname: string }>(
    `select t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and not t.tgisinternal`,
    [schema],
  );
  const indexes = await query<{ indexname: string }>(
    `select indexname from pg_indexes where schemaname = $1 and tablename in ('outbox', 'inbox') order by indexname`,
    [schema],
  );
  return {
    columns: columns.map((column) => `${column.table_name}.${column.column_name}:${column.data_type}`),
    triggers: triggers.map((trigger) => trigger.tgname),
    indexes: indexes.map((index) => index.indexname),
  };
}

describe('the frozen messaging migration', () => {
  it('leaves a database whose initial migration already created the tables as it was, and records itself', async () => {
    await migrate('legacy', LegacyInitial, false);
    const before = await messagingShape('legacy');
    await query(`insert into "legacy"."outbox" ("id", "type", "routing_key", "payload") values (gen_random_uuid(), 't', 'k', '{}')`);

    await migrate('legacy', CurrentInitial, true);

    // As it was, plus the retention indexes of a later messaging migration, minus the NOTIFY trigger another dropped.
    expect(before.triggers).toEqual(['outbox_notify']);
    expect(await messagingShape('legacy')).toEqual({
      ...before,
      indexes: [...before.indexes, 'inbox_processed_at_idx', 'outbox_published_at_idx'].sort(),
      triggers: [],
    });
    expect(await query(`select count(*)::int as rows from "legacy"."outbox"`)).toEqual([{ rows: 1 }]);
    const applied = await query<{ name: string }>(`select name from "legacy"."mikro_orm_migrations" order by id`);
    expect(applied.map((row) => row.name)).toEqual([
      'Migration20261121000000_initial',
      'Migration20261121000000_outbox_inbox',
      'Migration20261124010000_retention_indexes',
      'Migration20261124100000_parked_messages',
      'Migration20261125000000_outbox_notify_dropped',
    ]);
  });

  it('creates on a new database exactly the tables the old initial migrations created', async () => {
    await migrate('legacy_shape', LegacyInitial, false);
    await migrate('legacy_shape', CurrentInitial, true);
    await migrate('fresh', CurrentInitial, true);
    expect(await messagingShape('fresh')).toEqual(await messagingShape('legacy_shape'));
    expect((await messagingShape('fresh')).indexes).toEqual([
      'inbox_pkey',
      'inbox_processed_at_idx',
      'outbox_id_key',
      'outbox_pkey',
      'outbox_published_at_idx',
      'outbox_unpublished_idx',
    ]);
  });

  it('leaves no NOTIFY trigger on the outbox, nor its function: rows are published by the process that commits them', async () => {
    await migrate('no_notify', CurrentInitial, true);
    expect((await messagingShape('no_notify')).triggers).toEqual([]);
    const functions = await query<{ proname: string }>(
      `select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1`,
      ['no_notify'],
    );
    expect(functions).toEqual([]);
  });
});
