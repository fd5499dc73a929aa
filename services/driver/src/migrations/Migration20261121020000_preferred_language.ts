import { Migration } from '@mikro-orm/migrations';

/** The language the driver wants mail in (driver.registered v2); existing drivers get English. */
export class Migration20261121020000_preferred_language extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`alter table "${schema}"."driver" add column "preferred_language" varchar(8) not null default 'en'`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`alter table "${schema}"."driver" drop column "preferred_language"`);
  }
}
