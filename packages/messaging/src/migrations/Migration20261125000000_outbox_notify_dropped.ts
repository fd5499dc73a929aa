import { Migration } from '@mikro-orm/migrations';

/**
 * FROZEN once committed (a later change is a new migration). Drops the outbox's NOTIFY trigger and its function: the
 * process that commits an outbox row now publishes it itself right after the commit (CommittedOutboxPublisher), and
 * the relay only polls for rows left behind, so nothing listens any more. The trigger cost every inserting
 * transaction a `pg_notify`, which PostgreSQL serialises across the whole cluster at commit.
 */
export function outboxNotifyDroppedSql(schema: string): string[] {
  return [`drop trigger if exists "outbox_notify" on "${schema}"."outbox"`, `drop function if exists "${schema}"."notify_outbox"()`];
}

export class Migration20261125000000_outbox_notify_dropped extends Migration {
  override async up(): Promise<void> {
    for (const sql of outboxNotifyDroppedSql(this.config.get('schema'))) this.addSql(sql);
  }

  /** Puts back the trigger and function as Migration20261121000000_outbox_inbox created them. */
  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create or replace function "${schema}"."notify_outbox"() returns trigger language plpgsql as $$
      begin perform pg_notify('${schema}_outbox', ''); return null; end $$`);
    this.addSql(`create trigger "outbox_notify" after insert on "${schema}"."outbox"
      for each statement execute function "${schema}"."notify_outbox"()`);
  }
}
