import { Migration } from '@mikro-orm/migrations';

/**
 * FROZEN: the outbox and inbox tables as every service's `Migration20261121000000_initial` created them
 * (packages/messaging/src/sql.ts at 371a0ac, unchanged since). Never edit this file once committed: a change to
 * these tables is a new migration next to it, added to `messagingTables.migrations`.
 *
 * Why this shape: the services' initial migrations used to call the live `outboxAndInboxTablesSql()`, so
 * changing that function would have silently changed what an old migration does. The DDL now lives here, once,
 * and the chassis runs it before each service's own migrations. Databases created before the move already
 * have the tables (their `..._initial` ran and is recorded in `mikro_orm_migrations`, so it never re-runs);
 * for them this migration must be a no-op that only records itself, hence `if not exists` and the trigger
 * being dropped and re-created with the same definition, all inside the migration's transaction. On a new
 * database it creates the tables, and the service's `..._initial` (no longer touching them) follows.
 */
export function outboxInboxV1Sql(schema: string): string[] {
  const channel = `${schema}_outbox`;
  return [
    `create table if not exists "${schema}"."outbox" (
      "seq" bigserial primary key,
      "id" uuid not null unique,
      "type" varchar(255) not null,
      "routing_key" varchar(255) not null,
      "payload" jsonb not null,
      "headers" jsonb not null default '{}',
      "created_at" timestamptz not null default now(),
      "published_at" timestamptz null
    )`,
    `create index if not exists "outbox_unpublished_idx" on "${schema}"."outbox" ("seq") where "published_at" is null`,
    `create or replace function "${schema}"."notify_outbox"() returns trigger language plpgsql as $$
      begin perform pg_notify('${channel}', ''); return null; end $$`,
    `drop trigger if exists "outbox_notify" on "${schema}"."outbox"`,
    `create trigger "outbox_notify" after insert on "${schema}"."outbox"
      for each statement execute function "${schema}"."notify_outbox"()`,
    `create table if not exists "${schema}"."inbox" (
      "consumer" varchar(255) not null,
      "message_id" varchar(255) not null,
      "processed_at" timestamptz not null default now(),
      primary key ("consumer", "message_id")
    )`,
  ];
}

export class Migration20261121000000_outbox_inbox extends Migration {
  override async up(): Promise<void> {
    for (const sql of outboxInboxV1Sql(this.config.get('schema'))) this.addSql(sql);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop table if exists "${schema}"."inbox"`);
    this.addSql(`drop table if exists "${schema}"."outbox"`);
    this.addSql(`drop function if exists "${schema}"."notify_outbox"()`);
  }
}
