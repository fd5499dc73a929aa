import { Migration } from '@mikro-orm/migrations';

/** Outbox and inbox: messaging's frozen migration, run first (it explains the databases this created them in). */
export class Migration20261121000000_initial extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create table "${schema}"."account_link" (
      "driver_id" uuid primary key,
      "object_id" varchar(255) not null unique,
      "provider" varchar(32) not null,
      "created_at" timestamptz not null
    )`);
    this.addSql(`create table "${schema}"."directory_user" (
      "object_id" uuid primary key,
      "email" varchar(254) not null unique,
      "display_name" varchar(255) not null,
      "given_name" varchar(100) not null,
      "surname" varchar(100) not null,
      "mobile_phone" varchar(32) not null,
      "role" varchar(32) not null,
      "driver_id" uuid not null,
      "account_enabled" boolean not null,
      "created_at" timestamptz not null
    )`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop table if exists "${schema}"."directory_user"`);
    this.addSql(`drop table if exists "${schema}"."account_link"`);
  }
}
