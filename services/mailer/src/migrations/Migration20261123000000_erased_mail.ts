import { Migration } from '@mikro-orm/migrations';

/** A mail-log row may be ERASED: the driver's address forgotten, and nothing ever to be sent for it. */
export class Migration20261123000000_erased_mail extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`alter table "${schema}"."sent_mail" drop constraint "sent_mail_status_check"`);
    this.addSql(`alter table "${schema}"."sent_mail" add constraint "sent_mail_status_check" check ("status" in ('SENDING', 'SENT', 'ERASED'))`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`alter table "${schema}"."sent_mail" drop constraint "sent_mail_status_check"`);
    this.addSql(`alter table "${schema}"."sent_mail" add constraint "sent_mail_status_check" check ("status" in ('SENDING', 'SENT'))`);
  }
}
