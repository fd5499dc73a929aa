import { Migration } from '@mikro-orm/migrations';

/** The audit record of each erasure: ids, who asked, when, and each service's confirmation; no personal data. */
export class Migration20261123000000_driver_erasure extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create table "${schema}"."driver_erasure" (
      "driver_id" uuid primary key,
      "requested_by" varchar(255) null,
      "requested_at" timestamptz not null,
      "confirmations" jsonb not null,
      "completed_at" timestamptz null
    )`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop table if exists "${schema}"."driver_erasure"`);
  }
}
