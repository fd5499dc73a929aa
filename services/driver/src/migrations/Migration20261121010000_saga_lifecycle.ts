import { Migration } from '@mikro-orm/migrations';

/** Keeps the registration's correlation id on the driver, for events the service emits on its own (timeout). */
export class Migration20261121010000_saga_lifecycle extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`alter table "${schema}"."driver" add column "correlation_id" varchar(255) null`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`alter table "${schema}"."driver" drop column "correlation_id"`);
  }
}
