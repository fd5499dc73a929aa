import { Migration } from '@mikro-orm/migrations';

/** Outbox and inbox: messaging's frozen migration, run first (it explains the databases this created them in). */
export class Migration20261121000000_initial extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create table "${schema}"."driver" (
      "id" uuid primary key,
      "first_name" varchar(100) not null,
      "last_name" varchar(100) not null,
      "email" varchar(254) not null,
      "phone" varchar(32) not null,
      "status" varchar(16) not null check ("status" in ('PENDING', 'ACTIVE', 'FAILED', 'DELETED')),
      "b2c_object_id" varchar(255) null,
      "failure_reason" text null,
      "version" integer not null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null
    )`);
    // One live driver per address; FAILED and DELETED drivers release it.
    this.addSql(`create unique index "driver_live_email_uq" on "${schema}"."driver" (lower("email"))
      where "status" in ('PENDING', 'ACTIVE')`);
    this.addSql(`create index "driver_created_idx" on "${schema}"."driver" ("created_at", "id")`);
    this.addSql(`create index "driver_pending_idx" on "${schema}"."driver" ("created_at") where "status" = 'PENDING'`);
    this.addSql(`create table "${schema}"."driver_history" (
      "id" bigserial primary key,
      "driver_id" uuid not null references "${schema}"."driver" ("id"),
      "type" varchar(64) not null,
      "status" varchar(16) not null,
      "detail" text null,
      "message_id" varchar(255) null,
      "at" timestamptz not null
    )`);
    this.addSql(`create index "driver_history_driver_idx" on "${schema}"."driver_history" ("driver_id", "id")`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop table if exists "${schema}"."driver_history"`);
    this.addSql(`drop table if exists "${schema}"."driver"`);
  }
}
