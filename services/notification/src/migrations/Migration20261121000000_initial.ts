import { Migration } from '@mikro-orm/migrations';

/** Outbox and inbox: messaging's frozen migration, run first (it explains the databases this created them in). */
export class Migration20261121000000_initial extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create table "${schema}"."recipient" (
      "id" uuid primary key,
      "address" varchar(254) not null unique,
      "active" boolean not null,
      "created_at" timestamptz not null
    )`);
    this.addSql(`create table "${schema}"."notification" (
      "id" uuid primary key,
      "recipient_id" uuid not null references "${schema}"."recipient" ("id"),
      "type" varchar(64) not null,
      "driver_id" uuid not null,
      "message" text not null,
      "created_at" timestamptz not null,
      "read_at" timestamptz null,
      constraint "notification_once_uq" unique ("recipient_id", "type", "driver_id")
    )`);
    this.addSql(`create index "notification_created_idx" on "${schema}"."notification" ("created_at" desc, "id" desc)`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop table if exists "${schema}"."notification"`);
    this.addSql(`drop table if exists "${schema}"."recipient"`);
  }
}
