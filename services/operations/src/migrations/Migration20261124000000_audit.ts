import { Migration } from '@mikro-orm/migrations';

/** The audit copy of every event: one row per event id, found by driver, by type and time, and purged by receipt time. */
export class Migration20261124000000_audit extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`create table "${schema}"."audit_event" (
      "event_id" varchar(200) primary key,
      "type" varchar(200) not null,
      "version" integer not null,
      "source_service" varchar(64) not null,
      "correlation_id" varchar(200) not null,
      "causation_id" varchar(200) null,
      "subject" varchar(200) not null,
      "driver_id" uuid null,
      "occurred_at" timestamptz not null,
      "received_at" timestamptz not null,
      "trace_id" varchar(32) null,
      "delivery_attempt" integer not null,
      "payload" jsonb not null
    )`);
    this.addSql(`create index "audit_event_driver_idx" on "${schema}"."audit_event" ("driver_id", "occurred_at")`);
    this.addSql(`create index "audit_event_type_time_idx" on "${schema}"."audit_event" ("type", "occurred_at")`);
    this.addSql(`create index "audit_event_received_idx" on "${schema}"."audit_event" ("received_at")`);
  }

  override async down(): Promise<void> {
    const schema = this.config.get('schema')!;
    this.addSql(`drop table if exists "${schema}"."audit_event"`);
  }
}
