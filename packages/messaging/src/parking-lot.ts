import amqplib, { type ConfirmChannel } from 'amqplib';
import pg from 'pg';
import { CONSUMING_SERVICES, eventFlow } from '@onboarding/contracts';
import { VERIFIED_PUBLISHER_HEADER } from './consumer';
import { restorePersonalData, type PersonalValues } from './parked-message';
import { UNROUTABLE_QUEUE, redirectExchangeName } from './topology';

/**
 * The operator's side of parked messages (`npm run parked`): they are rows of each service's `parked_message`
 * table, read with SQL. Listing therefore never takes a message off a queue, so no broker's delivery counting
 * (RabbitMQ 4 drops a quorum-queue message requeued 20 times) can lose one, however often it is listed.
 */
export interface ParkedMessage {
  service: string;
  /** The row's id in that service's table. */
  id: string;
  sourceQueue: string;
  messageId: string;
  type: string | null;
  routingKey: string;
  reason: string;
  error: string;
  attempts: number;
  deliveryCount: number;
  firstReceivedAt: Date | null;
  parkedAt: Date;
  replayedAt: Date | null;
  replays: number;
  archivedAt: Date | null;
  /** The message had personal data, kept apart from what is shown. */
  hasPersonalData: boolean;
  /** That personal data is still kept (not erased, not past its retention), so a replay can rebuild the message. */
  personalDataKept: boolean;
  /** The message as it may be shown: personal fields replaced. */
  payload: string;
  /** Its CloudEvents subject (the driver id), when it was an envelope that named one. */
  subject: string | null;
}

/** Where the parked-message tables are: the database and each service's schema. */
export interface ParkedTables {
  databaseUrl: string;
  services: readonly { service: string; schema: string }[];
}

/** Every consuming service's table in one database, each in the schema `schemaOf` names (default: the service list's). */
export function platformParkedTables(
  databaseUrl: string,
  schemaOf: (entry: (typeof CONSUMING_SERVICES)[number]) => string = (entry) => entry.schema,
): ParkedTables {
  return { databaseUrl, services: CONSUMING_SERVICES.map((entry) => ({ service: entry.name, schema: schemaOf(entry) })) };
}

export interface ParkedFilter {
  /** Only messages parked from these queues (a work queue, or `onboarding.unroutable`). */
  queues?: readonly string[];
  messageId?: string;
  /** Only these rows (ids in the service's table; with one service only). */
  ids?: readonly string[];
  reason?: string;
  /** Only messages whose CloudEvents subject (the driver id) is this. */
  subject?: string;
  /** Only rows in this state (listing only; replay and archive act on open rows, restore on archived ones). */
  state?: 'open' | 'replayed' | 'archived';
  /** Replayed and archived rows too (listing only; replay and archive act on open rows). */
  includeSettled?: boolean;
  /** At most this many rows per service (default 1000). */
  limit?: number;
}

export interface ReplayOptions extends ParkedTables, ParkedFilter {
  amqpUrl: string;
  dryRun?: boolean;
}

export interface ReplayResult {
  replayed: ParkedMessage[];
  refused: { message: ParkedMessage; why: string }[];
}

interface Row {
  id: string;
  source_queue: string;
  message_id: string;
  type: string | null;
  routing_key: string;
  reason: string;
  error: string;
  attempts: number;
  delivery_count: number;
  first_received_at: Date | null;
  parked_at: Date;
  replayed_at: Date | null;
  replays: number;
  archived_at: Date | null;
  has_personal_data: boolean;
  personal_kept: boolean;
  payload: string;
  subject: string | null;
}

interface FullRow extends Row {
  verified_publisher: string | null;
  properties: Record<string, string | number>;
  headers: Record<string, string | number | boolean>;
  personal_data: PersonalValues | null;
}

const COLUMNS = `"id"::text as "id", "source_queue", "message_id", "type", "routing_key", "reason", "error", "attempts", "delivery_count",
  "first_received_at", "parked_at", "replayed_at", "replays", "archived_at", "has_personal_data", ("personal_data" is not null) as "personal_kept", "payload", "subject"`;

function describe(service: string, row: Row): ParkedMessage {
  return {
    service,
    id: row.id,
    sourceQueue: row.source_queue,
    messageId: row.message_id,
    type: row.type,
    routingKey: row.routing_key,
    reason: row.reason,
    error: row.error,
    attempts: row.attempts,
    deliveryCount: row.delivery_count,
    firstReceivedAt: row.first_received_at,
    parkedAt: row.parked_at,
    replayedAt: row.replayed_at,
    replays: row.replays,
    archivedAt: row.archived_at,
    hasPersonalData: row.has_personal_data,
    personalDataKept: row.personal_kept,
    payload: row.payload,
    subject: row.subject,
  };
}

const STATE_CLAUSES = {
  open: `"replayed_at" is null and "archived_at" is null`,
  replayed: `"replayed_at" is not null and "archived_at" is null`,
  archived: `"archived_at" is not null`,
} as const;

/** The where clause of a filter (parameters from $1). A filter that was given applies even when empty. */
function where(filter: ParkedFilter, state: keyof typeof STATE_CLAUSES | undefined): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.queues !== undefined) {
    params.push([...filter.queues]);
    clauses.push(`"source_queue" = any($${params.length})`);
  }
  if (filter.messageId !== undefined) {
    params.push(filter.messageId);
    clauses.push(`"message_id" = $${params.length}`);
  }
  if (filter.ids !== undefined) {
    params.push([...filter.ids]);
    clauses.push(`"id" = any($${params.length}::bigint[])`);
  }
  if (filter.reason !== undefined) {
    params.push(filter.reason);
    clauses.push(`"reason" = $${params.length}`);
  }
  if (filter.subject !== undefined) {
    params.push(filter.subject);
    clauses.push(`"subject" = $${params.length}`);
  }
  if (state) clauses.push(STATE_CLAUSES[state]);
  return { sql: clauses.length ? `where ${clauses.join(' and ')}` : '', params };
}

async function withTables<T>(tables: ParkedTables, each: (client: pg.Client, service: string, table: string) => Promise<T[]>): Promise<T[]> {
  const client = new pg.Client({ connectionString: tables.databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  const results: T[] = [];
  try {
    for (const { service, schema } of tables.services) {
      const table = `"${schema}"."parked_message"`;
      // A service that never ran (or runs a version without the table) has nothing parked.
      const exists = await client.query<{ found: string | null }>('select to_regclass($1)::text as found', [table]);
      if (!exists.rows[0]?.found) continue;
      results.push(...(await each(client, service, table)));
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  return results;
}

/**
 * The parked messages the filter selects (open ones only unless `includeSettled`), at most `limit` per service:
 * oldest first, or with `newestFirst` the most recent (what an operator looks at first). With `newestFirst`,
 * `olderThan` (a row id of the one service's table) pages on: only rows after that row in that order.
 */
export function listParked(options: ParkedTables & ParkedFilter & { newestFirst?: boolean; olderThan?: string }): Promise<ParkedMessage[]> {
  return withTables(options, async (client, service, table) => {
    const { sql, params } = where(options, options.state ?? (options.includeSettled ? undefined : 'open'));
    let page = sql;
    if (options.newestFirst && options.olderThan !== undefined) {
      // Keyset on the row itself, read in the same statement: its parked_at keeps PostgreSQL's microseconds, which a
      // timestamp carried in the cursor (JavaScript's milliseconds) would not, and rows parked in the same
      // millisecond would be skipped or listed twice. A row deleted since (retention) ends the listing.
      params.push(options.olderThan);
      const after = `("parked_at", "id") < (select "parked_at", "id" from ${table} where "id" = $${params.length}::bigint)`;
      page = sql ? `${sql} and ${after}` : `where ${after}`;
    }
    const order = options.newestFirst ? `"parked_at" desc, "id" desc` : `"parked_at", "id"`;
    const rows = await client.query<Row>(`select ${COLUMNS} from ${table} ${page} order by ${order} limit ${limit(options)}`, params);
    return rows.rows.map((row) => describe(service, row));
  });
}

/** How many parked messages the filter selects, per service, source queue and reason: every row, not a listed page. */
export function countParked(
  options: ParkedTables & ParkedFilter,
): Promise<{ service: string; sourceQueue: string; reason: string; count: number }[]> {
  return withTables(options, async (client, service, table) => {
    const { sql, params } = where(options, options.state ?? (options.includeSettled ? undefined : 'open'));
    const rows = await client.query<{ source_queue: string; reason: string; count: number }>(
      `select "source_queue", "reason", count(*)::int as "count" from ${table} ${sql} group by 1, 2 order by 3 desc, 1, 2`,
      params,
    );
    return rows.rows.map((row) => ({ service, sourceQueue: row.source_queue, reason: row.reason, count: row.count }));
  });
}

/**
 * Archives the open parked messages the filter selects (the operator looked at them and decided they need no
 * replay): they stay, with the time, until the retention deletes them, and are no longer listed by default.
 */
export function archiveParked(options: ParkedTables & ParkedFilter & { dryRun?: boolean }): Promise<ParkedMessage[]> {
  return withTables(options, async (client, service, table) => {
    const { sql, params } = where(options, 'open');
    const selected = `select "id" from ${table} ${sql} order by "parked_at", "id" limit ${limit(options)}`;
    const rows = options.dryRun
      ? await client.query<Row>(`select ${COLUMNS} from ${table} where "id" in (${selected}) order by "parked_at", "id"`, params)
      : await client.query<Row>(`update ${table} set "archived_at" = now() where "id" in (${selected}) returning ${COLUMNS}`, params);
    return rows.rows.map((row) => describe(service, row));
  });
}

/**
 * Restores archived parked messages the filter selects: they are open again, listed and replayable, as if the
 * archive had not happened (an operator's archive undone).
 */
export function restoreParked(options: ParkedTables & ParkedFilter & { dryRun?: boolean }): Promise<ParkedMessage[]> {
  return withTables(options, async (client, service, table) => {
    const { sql, params } = where(options, 'archived');
    const selected = `select "id" from ${table} ${sql} order by "parked_at", "id" limit ${limit(options)}`;
    const rows = options.dryRun
      ? await client.query<Row>(`select ${COLUMNS} from ${table} where "id" in (${selected}) order by "parked_at", "id"`, params)
      : await client.query<Row>(`update ${table} set "archived_at" = null where "id" in (${selected}) returning ${COLUMNS}`, params);
    return rows.rows.map((row) => describe(service, row));
  });
}

/**
 * Replays the open parked messages the filter selects: each is published, with its personal data put back and a
 * fresh attempt count, through the redirect exchange of the queue it was parked from (for an unroutable event, of
 * every queue that consumes its type now) with the publisher its consumer verified, and its row is marked replayed
 * in the same transaction, which commits only after the broker confirmed. So a replay happens once: a second
 * replay finds the row replayed, two operators at once skip each other's locked rows, and a crash between confirm
 * and commit publishes a copy the consumers' inbox recognises. A message whose personal data is gone is refused.
 */
export async function replayParked(options: ReplayOptions): Promise<ReplayResult> {
  const connection = options.dryRun ? undefined : await amqplib.connect(options.amqpUrl, { noDelay: true });
  const result: ReplayResult = { replayed: [], refused: [] };
  try {
    const channel = connection ? await connection.createConfirmChannel() : undefined;
    await withTables(options, async (client, service, table) => {
      const { sql, params } = where(options, 'open');
      const candidates = await client.query<{ id: string }>(
        `select "id"::text as "id" from ${table} ${sql} order by "parked_at", "id" limit ${limit(options)}`,
        params,
      );
      for (const { id } of candidates.rows) {
        await client.query('begin');
        try {
          const locked = await client.query<FullRow>(
            `select ${COLUMNS}, "verified_publisher", "properties", "headers", "personal_data" from ${table}
             where "id" = $1 and "replayed_at" is null and "archived_at" is null for update skip locked`,
            [id],
          );
          const row = locked.rows[0];
          if (!row) {
            await client.query('rollback');
            continue;
          }
          const message = describe(service, row);
          const targets = row.source_queue === UNROUTABLE_QUEUE ? consumingQueues(row.routing_key) : [row.source_queue];
          const why =
            row.has_personal_data && row.personal_data === null
              ? 'its personal data was erased or passed PARKED_PERSONAL_DATA_RETENTION, so the message cannot be rebuilt'
              : targets.length === 0
                ? `no service consumes ${row.routing_key} now`
                : undefined;
          if (why) {
            result.refused.push({ message, why });
            await client.query('rollback');
            continue;
          }
          if (channel && connection) {
            const content = restorePersonalData(row.payload, row.personal_data);
            for (const queue of targets) await send(connection, channel, queue, content, row);
            await client.query(`update ${table} set "replayed_at" = now(), "replays" = "replays" + 1 where "id" = $1`, [id]);
            await client.query('commit');
          } else {
            await client.query('rollback');
          }
          result.replayed.push(message);
        } catch (err) {
          await client.query('rollback').catch(() => undefined);
          throw err;
        }
      }
      return [];
    });
  } finally {
    await connection?.close().catch(() => undefined);
  }
  return result;
}

function limit(filter: ParkedFilter): number {
  return Math.max(1, Math.floor(filter.limit ?? 1000));
}

/** The work queues of the services that consume a routing key now (contracts' event flow). */
function consumingQueues(routingKey: string): string[] {
  const consumers = eventFlow[routingKey]?.consumers ?? [];
  return CONSUMING_SERVICES.filter((entry) => consumers.includes(entry.name)).map((entry) => entry.queue);
}

/**
 * Publishes one parked message to a work queue through that queue's redirect exchange, the path on which its
 * consumer trusts the `x-verified-publisher` header (only the service and administrators may write there).
 */
async function send(connection: amqplib.ChannelModel, channel: ConfirmChannel, queue: string, content: Buffer, row: FullRow): Promise<void> {
  const exchange = redirectExchangeName(queue);
  // Checked on a channel of its own: publishing to a missing exchange would close the confirm channel.
  const probe = await connection.createChannel();
  probe.on('error', () => undefined);
  const exists = await probe.checkExchange(exchange).then(
    () => true,
    () => false,
  );
  await probe.close().catch(() => undefined);
  if (!exists) throw new Error(`the exchange ${exchange} does not exist: has the service consuming ${queue} ever run on this broker?`);
  const { messageId, type, correlationId, timestamp, contentType } = row.properties;
  await new Promise<void>((resolve, reject) => {
    channel.publish(
      exchange,
      queue,
      content,
      {
        messageId: messageId === undefined ? row.message_id : String(messageId),
        type: type === undefined ? undefined : String(type),
        correlationId: correlationId === undefined ? undefined : String(correlationId),
        timestamp: typeof timestamp === 'number' ? timestamp : undefined,
        contentType: contentType === undefined ? undefined : String(contentType),
        persistent: true,
        headers: {
          ...row.headers,
          [VERIFIED_PUBLISHER_HEADER]: row.verified_publisher ?? undefined,
          'x-original-routing-key': row.routing_key,
          'x-replayed-at': new Date().toISOString(),
          'x-replays': row.replays + 1,
        },
      },
      (err) => (err ? reject(err as Error) : resolve()),
    );
  });
}
