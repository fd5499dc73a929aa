import { Migration } from '@mikro-orm/migrations';

/**
 * FROZEN once committed (a later change is a new migration). Indexes for the retention purges (see retention.ts):
 * without them each purge read the whole outbox and the whole inbox, and the inbox, never purged, grew forever.
 * The outbox one covers published rows only (unpublished ones have `outbox_unpublished_idx`), the rows the purge
 * deletes; the inbox one orders its rows by age. Plain `create index` (a migration runs in a transaction, where
 * `concurrently` is refused): it blocks writes to the table while it builds, once, at the upgrade.
 */
export function retentionIndexesSql(schema: string): string[] {
  return [
    `create index if not exists "outbox_published_at_idx" on "${schema}"."outbox" ("published_at") where "published_at" is not null`,
    `create index if not exists "inbox_processed_at_idx" on "${schema}"."inbox" ("processed_at")`,
  ];
}

export class Migration20261124010000_retention_indexes extends Migration {
  override async up(): Promise<void> {
    for (const sql of retentionIndexesSql(this.config.get('schema'))) this.addSql(sql);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop index if exists "${schema}"."outbox_published_at_idx"`);
    this.addSql(`drop index if exists "${schema}"."inbox_processed_at_idx"`);
  }
}
