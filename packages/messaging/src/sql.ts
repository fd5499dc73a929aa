/**
 * DDL for the messaging tables every service keeps in its own schema. Services call these from their own
 * committed migrations, so each service's schema history stays in its own repository folder.
 */
export function outboxAndInboxTablesSql(schema: string): string[] {
  const channel = outboxChannel(schema);
  return [
    `create table "${schema}"."outbox" (
      "seq" bigserial primary key,
      "id" uuid not null unique,
      "type" varchar(255) not null,
      "routing_key" varchar(255) not null,
      "payload" jsonb not null,
      "headers" jsonb not null default '{}',
      "created_at" timestamptz not null default now(),
      "published_at" timestamptz null
    )`,
    `create index "outbox_unpublished_idx" on "${schema}"."outbox" ("seq") where "published_at" is null`,
    `create or replace function "${schema}"."notify_outbox"() returns trigger language plpgsql as $$
      begin perform pg_notify('${channel}', ''); return null; end $$`,
    `create trigger "outbox_notify" after insert on "${schema}"."outbox"
      for each statement execute function "${schema}"."notify_outbox"()`,
    `create table "${schema}"."inbox" (
      "consumer" varchar(255) not null,
      "message_id" varchar(255) not null,
      "processed_at" timestamptz not null default now(),
      primary key ("consumer", "message_id")
    )`,
  ];
}

export function dropOutboxAndInboxTablesSql(schema: string): string[] {
  return [
    `drop table if exists "${schema}"."inbox"`,
    `drop table if exists "${schema}"."outbox"`,
    `drop function if exists "${schema}"."notify_outbox"()`,
  ];
}

/** LISTEN/NOTIFY channel the relay waits on; one per schema so services sharing a database never wake each other. */
export function outboxChannel(schema: string): string {
  return `${schema}_outbox`;
}
