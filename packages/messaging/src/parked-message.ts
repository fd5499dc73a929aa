import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { PERSONAL_FIELDS, REDACTED, scrubPersonalData } from '@onboarding/service-kit';

/**
 * A message as a consumer keeps it in its service's `parked_message` table: what listings show (ids, reason,
 * scrubbed error, the envelope with personal data replaced) and, apart, the personal values a replay puts back.
 */
export interface ParkedRecord {
  sourceQueue: string;
  messageId: string;
  type: string | undefined;
  routingKey: string;
  /** The CloudEvents subject (the driver id), when the body is an envelope: what erasure looks for. */
  subject: string | undefined;
  reason: string;
  error: string;
  attempts: number;
  deliveryCount: number;
  verifiedPublisher: string | undefined;
  /** AMQP properties a replay sets again (message id, type, correlation id, timestamp, content type). */
  properties: Record<string, string | number>;
  /** Headers a replay carries again (trace context), scrubbed. */
  headers: Record<string, string | number | boolean>;
  payload: string;
  personalData: PersonalValues | null;
  firstReceivedAt: Date | undefined;
  parkedBy: string;
}

/** A JSON path (object keys and array indexes) and the value that stood there. */
export type PersonalValues = { kind: 'json'; values: [path: (string | number)[], value: unknown][] } | { kind: 'raw'; body: string };

/** Headers that describe a message's past on this platform's queues; never carried into a parked row or a replay. */
const BOOKKEEPING_HEADERS = new Set([
  'x-attempt',
  'x-last-error',
  'x-parked-reason',
  'x-error',
  'x-attempts',
  'x-original-queue',
  'x-original-routing-key',
  'x-parked-at',
  'x-parked-by',
  'x-verified-publisher',
  'x-returned-in-outage',
  'x-earlier-deliveries',
  'x-first-received-at',
  'x-delivery-count',
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-replayed-at',
  'x-replays',
]);

const PERSONAL = new Set(PERSONAL_FIELDS);

/**
 * Splits a message body into what may be shown and what may not. A JSON body keeps its shape: every field named
 * for personal data (service-kit's PERSONAL_FIELDS, the list the logger censors) becomes `REDACTED`, and any other
 * string is scrubbed of addresses and phone numbers (service-kit's scrubber); the replaced values are returned
 * with their paths. A body that is not JSON cannot be split, so none of it is shown.
 */
export function splitPersonalData(content: Buffer): { payload: string; personal: PersonalValues | null } {
  const text = content.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {
      payload: `(a body that is not JSON, ${content.length} bytes: kept with the personal data, not shown)`,
      personal: { kind: 'raw', body: text },
    };
  }
  const values: [(string | number)[], unknown][] = [];
  const scrub = (value: unknown, path: (string | number)[]): unknown => {
    if (Array.isArray(value)) return value.map((item, index) => scrub(item, [...path, index]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => {
          if (PERSONAL.has(key) && item !== null && item !== undefined) {
            values.push([[...path, key], item]);
            return [key, REDACTED];
          }
          return [key, scrub(item, [...path, key])];
        }),
      );
    }
    if (typeof value === 'string') {
      const scrubbed = scrubPersonalData(value);
      if (scrubbed !== value) {
        values.push([path, value]);
        return scrubbed;
      }
    }
    return value;
  };
  const payload = JSON.stringify(scrub(body, []));
  return { payload, personal: values.length > 0 ? { kind: 'json', values } : null };
}

/** The body a replay publishes: the shown payload with the personal values put back where they were. */
export function restorePersonalData(payload: string, personal: PersonalValues | null): Buffer {
  if (personal === null) return Buffer.from(payload, 'utf8');
  if (personal.kind === 'raw') return Buffer.from(personal.body, 'utf8');
  const body = JSON.parse(payload) as unknown;
  let restored = body;
  for (const [path, value] of personal.values) {
    if (path.length === 0) {
      restored = value;
      continue;
    }
    let target = restored as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
    target[path[path.length - 1]!] = value;
  }
  return Buffer.from(JSON.stringify(restored), 'utf8');
}

/** The headers worth keeping for a replay (trace context and the like), scrubbed; the platform's bookkeeping dropped. */
export function replayHeaders(headers: Record<string, unknown> | undefined): Record<string, string | number | boolean> {
  const kept: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (BOOKKEEPING_HEADERS.has(key)) continue;
    if (typeof value === 'string') kept[key] = scrubPersonalData(value);
    else if (typeof value === 'number' || typeof value === 'boolean') kept[key] = value;
  }
  return kept;
}

/** A message without an AMQP message id (a broken publisher's) is still parked once: it is named by its content. */
export function contentMessageId(content: Buffer): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

const COLUMNS = [
  'source_queue',
  'message_id',
  'type',
  'routing_key',
  'subject',
  'reason',
  'error',
  'attempts',
  'delivery_count',
  'verified_publisher',
  'properties',
  'headers',
  'payload',
  'has_personal_data',
  'personal_data',
  'first_received_at',
  'parked_by',
] as const;
const JSONB = new Set(['properties', 'headers', 'personal_data']);
const REOPENED = COLUMNS.filter((column) => column !== 'source_queue' && column !== 'message_id');

/**
 * Records a parked message in `<schema>.parked_message`. Parking the same message again (a redelivery after a
 * crash between insert and ack) changes nothing; parking a message whose row was replayed or archived reopens
 * the row with the new reason, so a replayed message that fails again is parked again, not lost.
 */
export async function insertParked(em: EntityManager, schema: string, record: ParkedRecord): Promise<void> {
  const values: unknown[] = [
    record.sourceQueue,
    record.messageId,
    record.type ?? null,
    record.routingKey,
    record.subject ?? null,
    record.reason,
    record.error,
    record.attempts,
    record.deliveryCount,
    record.verifiedPublisher ?? null,
    JSON.stringify(record.properties),
    JSON.stringify(record.headers),
    record.payload,
    record.personalData !== null,
    record.personalData === null ? null : JSON.stringify(record.personalData),
    record.firstReceivedAt ?? null,
    record.parkedBy,
  ];
  const table = `"${schema}"."parked_message"`;
  await em.getConnection().execute(
    `insert into ${table} (${COLUMNS.map((column) => `"${column}"`).join(', ')})
     values (${COLUMNS.map((column) => (JSONB.has(column) ? 'cast(? as jsonb)' : '?')).join(', ')})
     on conflict ("source_queue", "message_id") do update set
       ${REOPENED.map((column) => `"${column}" = excluded."${column}"`).join(', ')},
       "parked_at" = now(), "replayed_at" = null, "archived_at" = null
     where ${table}."replayed_at" is not null or ${table}."archived_at" is not null`,
    values,
  );
}

/**
 * Erasure: forgets the personal data of every parked message about a driver (its subject, or its id anywhere in
 * the shown payload or error). The rows stay, scrubbed, so the operator still sees that something was parked;
 * a replay of one is refused. Returns how many rows lost personal data.
 */
export async function forgetParkedPersonalData(em: EntityManager, schema: string, driverId: string): Promise<number> {
  const result = (await em.getConnection().execute(
    `update "${schema}"."parked_message" set "personal_data" = null
     where "personal_data" is not null
       and ("subject" = ? or strpos("payload", ?) > 0 or strpos("error", ?) > 0)
     returning "id"`,
    [driverId, driverId, driverId],
    'all',
    em.getTransactionContext(),
  )) as unknown[];
  return result.length;
}
