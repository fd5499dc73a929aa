import { Migration } from '@mikro-orm/migrations';

/** Who made each change over HTTP (the verified token subject); null for saga steps and for history written before. */
export class Migration20261122000000_history_actor extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`alter table "${schema}"."driver_history" add column "actor" varchar(255) null`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`alter table "${schema}"."driver_history" drop column "actor"`);
  }
}
