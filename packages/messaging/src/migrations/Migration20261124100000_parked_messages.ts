import { Migration } from '@mikro-orm/migrations';

/**
 * FROZEN once committed: the `parked_message` table, where a consumer keeps what it could not process (and the
 * driver service the unroutable events). A table rather than a parking queue so that listing never takes a
 * message off a queue: RabbitMQ 4 counts every requeue of a quorum queue's message as a delivery and drops it
 * after its default limit, so repeated listings of a parking queue could lose what they show.
 *
 * - `payload` is what listings show: the envelope with personal fields replaced (see parked-payload.ts);
 *   `personal_data` keeps the replaced values for a replay and is nulled after its retention or on erasure;
 *   `has_personal_data` says a replay needs them.
 * - one row per (source queue, message id): parking the same message twice is a no-op, unless the row was
 *   replayed or archived, when the new park reopens it (so a replayed message that fails again is not lost).
 * - the `parked_at` indexes carry the retention sweeps (whole rows, and personal data still present).
 */
export function parkedMessagesV1Sql(schema: string): string[] {
  return [
    `create table if not exists "${schema}"."parked_message" (
      "id" bigserial primary key,
      "source_queue" varchar(255) not null,
      "message_id" varchar(255) not null,
      "type" varchar(255) null,
      "routing_key" varchar(255) not null,
      "subject" varchar(255) null,
      "reason" varchar(64) not null,
      "error" text not null default '',
      "attempts" integer not null default 0,
      "delivery_count" integer not null default 0,
      "verified_publisher" varchar(255) null,
      "properties" jsonb not null default '{}',
      "headers" jsonb not null default '{}',
      "payload" text not null,
      "has_personal_data" boolean not null default false,
      "personal_data" jsonb null,
      "first_received_at" timestamptz null,
      "parked_at" timestamptz not null default now(),
      "parked_by" varchar(255) not null,
      "replayed_at" timestamptz null,
      "replays" integer not null default 0,
      "archived_at" timestamptz null,
      constraint "parked_message_source_message_unique" unique ("source_queue", "message_id")
    )`,
    `create index if not exists "parked_message_parked_at_idx" on "${schema}"."parked_message" ("parked_at")`,
    `create index if not exists "parked_message_personal_idx" on "${schema}"."parked_message" ("parked_at") where "personal_data" is not null`,
    `create index if not exists "parked_message_subject_idx" on "${schema}"."parked_message" ("subject")`,
  ];
}

export class Migration20261124100000_parked_messages extends Migration {
  override async up(): Promise<void> {
    for (const sql of parkedMessagesV1Sql(this.config.get('schema'))) this.addSql(sql);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "${this.config.get('schema')!}"."parked_message"`);
  }
}
