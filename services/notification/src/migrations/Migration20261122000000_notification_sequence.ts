import { Migration } from '@mikro-orm/migrations';

/**
 * Gives every notification a position in the live stream: `seq`, taken from a sequence under a
 * transaction-scoped advisory lock, so positions follow commit order. A plain sequence would not: two
 * transactions may take 10 and 11 and commit 11 first, and a client that saw 11 and resumed "after 11" would
 * never get 10. With the lock, the second inserter waits until the first has committed (the lock is released
 * after the commit is visible), so whoever sees position N has also seen every position below it. The price
 * is that transactions storing notifications run one at a time from their first notification to their commit,
 * which the rate of admin notifications allows. The lock key and sequence name are written out, as in every
 * committed migration.
 */
export class Migration20261122000000_notification_sequence extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create sequence "${schema}"."notification_seq"`);
    this.addSql(`alter table "${schema}"."notification" add column "seq" bigint null`);
    // Rows stored before this migration get positions in the order they were created.
    this.addSql(`update "${schema}"."notification" as n set "seq" = ordered.position
      from (select "id", row_number() over (order by "created_at", "id") as position from "${schema}"."notification") as ordered
      where n."id" = ordered."id"`);
    this.addSql(`select setval('"${schema}"."notification_seq"', coalesce((select max("seq") from "${schema}"."notification"), 0) + 1, false)`);
    this.addSql(`alter table "${schema}"."notification" alter column "seq" set not null`);
    this.addSql(`create unique index "notification_seq_uq" on "${schema}"."notification" ("seq")`);
    this.addSql(`create or replace function "${schema}"."assign_notification_seq"() returns trigger language plpgsql as $$
      begin
        perform pg_advisory_xact_lock(hashtext('${schema}.notification_seq'));
        new.seq := nextval('"${schema}"."notification_seq"');
        return new;
      end $$`);
    this.addSql(`create trigger "notification_seq" before insert on "${schema}"."notification"
      for each row execute function "${schema}"."assign_notification_seq"()`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop trigger if exists "notification_seq" on "${schema}"."notification"`);
    this.addSql(`drop function if exists "${schema}"."assign_notification_seq"()`);
    this.addSql(`alter table "${schema}"."notification" drop column if exists "seq"`);
    this.addSql(`drop sequence if exists "${schema}"."notification_seq"`);
  }
}
