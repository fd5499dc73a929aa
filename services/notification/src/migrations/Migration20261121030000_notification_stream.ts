import { Migration } from '@mikro-orm/migrations';

/**
 * Announces each stored notification on a LISTEN/NOTIFY channel, for the live stream. The channel name is
 * written out here (`<schema>_notification_created`, what `notificationChannel` in the live stream listens
 * on) because a committed migration must do the same thing forever, whatever the live code becomes.
 */
export class Migration20261121030000_notification_stream extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create or replace function "${schema}"."notify_notification_created"() returns trigger language plpgsql as $$
      begin perform pg_notify('${schema}_notification_created', new.id::text); return null; end $$`);
    this.addSql(`create trigger "notification_created" after insert on "${schema}"."notification"
      for each row execute function "${schema}"."notify_notification_created"()`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop trigger if exists "notification_created" on "${schema}"."notification"`);
    this.addSql(`drop function if exists "${schema}"."notify_notification_created"()`);
  }
}
