import { Migration } from '@mikro-orm/migrations';

/** Drivers' mail language, from driver.registered (v2 states it; v1 is upcast to the default). */
export class Migration20261121020000_language_preference extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create table "${schema}"."language_preference" (
      "driver_id" uuid primary key,
      "language" varchar(8) not null,
      "stated" boolean not null
    )`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop table if exists "${schema}"."language_preference"`);
  }
}
