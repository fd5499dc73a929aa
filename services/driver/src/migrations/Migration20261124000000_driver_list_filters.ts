import { Migration } from '@mikro-orm/migrations';

/**
 * The list filtered by status pages in (created_at, id) order: this index serves both the filter and the order.
 * The `q` search (a substring of a name or address, ILIKE '%…%') cannot use a b-tree; it scans, which is fine for
 * the few thousand drivers of one fleet (a pg_trgm index would need the extension, see README Known limits).
 */
export class Migration20261124000000_driver_list_filters extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create index "driver_status_created_at_id_index" on "${schema}"."driver" ("status", "created_at", "id")`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop index if exists "${schema}"."driver_status_created_at_id_index"`);
  }
}
