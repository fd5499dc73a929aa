import { Migration } from '@mikro-orm/migrations';

/**
 * Every operator action on parked messages (replay, archive, restore, dry runs included): who (the verified
 * subject the gateway passed), when, what, on which filter, and what came of it per message.
 */
export class Migration20261125000000_operator_actions extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create table "${schema}"."operator_action" (
      "id" bigserial primary key,
      "at" timestamptz not null default now(),
      "subject" varchar(200) not null,
      "action" varchar(20) not null,
      "dry_run" boolean not null,
      "filter" jsonb not null,
      "count" integer not null,
      "refused" integer not null,
      "failed_services" jsonb not null,
      "results" jsonb not null
    )`);
    this.addSql(`create index "operator_action_at_idx" on "${schema}"."operator_action" ("at" desc)`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop table if exists "${schema}"."operator_action"`);
  }
}
