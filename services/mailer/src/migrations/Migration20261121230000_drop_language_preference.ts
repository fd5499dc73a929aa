import { Migration } from '@mikro-orm/migrations';

/**
 * `driver.activated` now carries the driver's language, so the mailer no longer keeps its own copy learnt
 * from `driver.registered`. The rows are not migrated anywhere: every activation from now on states the
 * language itself. `down` restores the empty table, which is all the previous version needs to run.
 */
export class Migration20261121230000_drop_language_preference extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop table if exists "${schema}"."language_preference"`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create table if not exists "${schema}"."language_preference" (
      "driver_id" uuid primary key,
      "language" varchar(8) not null,
      "stated" boolean not null
    )`);
  }
}
