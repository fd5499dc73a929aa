import { Migration } from '@mikro-orm/migrations';

/** Outbox and inbox: messaging's frozen migration, run first (it explains the databases this created them in). */
export class Migration20261121000000_initial extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create table "${schema}"."sent_mail" (
      "id" uuid primary key,
      "driver_id" uuid not null,
      "template" varchar(64) not null,
      "recipient" varchar(254) not null,
      "status" varchar(16) not null check ("status" in ('SENDING', 'SENT')),
      "smtp_message_id" varchar(255) null,
      "attempts" integer not null,
      "claimed_at" timestamptz not null,
      "sent_at" timestamptz null,
      constraint "sent_mail_driver_template_uq" unique ("driver_id", "template")
    )`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop table if exists "${schema}"."sent_mail"`);
  }
}
