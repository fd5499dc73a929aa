import { Migration } from '@mikro-orm/migrations';

/** Account links remember the driver version they hold and when the account was deleted. */
export class Migration20261121010000_account_lifecycle extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`alter table "${schema}"."account_link" add column "driver_version" integer not null default 1`);
    this.addSql(`alter table "${schema}"."account_link" add column "deleted_at" timestamptz null`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`alter table "${schema}"."account_link" drop column "deleted_at"`);
    this.addSql(`alter table "${schema}"."account_link" drop column "driver_version"`);
  }
}
