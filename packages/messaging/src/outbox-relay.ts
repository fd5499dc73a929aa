import pg from 'pg';
import type { Logger } from 'pino';
import type { Broker } from './broker';
import { withPublishSpan, type MessagingObserver } from './observability';
import { PgListener } from './pg-listener';
import { outboxChannel } from './sql';
import { CLOUDEVENTS_CONTENT_TYPE, DOMAIN_EXCHANGE } from './topology';

export interface OutboxRelayOptions {
  databaseUrl: string;
  schema: string;
  broker: Broker;
  logger: Logger;
  batchSize?: number;
  /** Fallback poll interval for when a NOTIFY is missed (listener reconnecting). */
  pollIntervalMs?: number;
  /** Published rows are kept this long for inspection, then purged. */
  retentionMs?: number;
  observer?: MessagingObserver;
}

interface OutboxRow {
  id: string;
  type: string;
  routing_key: string;
  payload: string;
  headers: Record<string, string>;
  correlation_id: string | null;
  created_at: Date;
}

/**
 * Publishes committed outbox rows with publisher confirms. Wakes on LISTEN/NOTIFY and polls as a fallback;
 * rows are claimed with FOR UPDATE SKIP LOCKED so any number of relay instances can run side by side, and
 * marked published only after the broker confirmed them (a crash in between republishes: consumers dedupe).
 */
export class OutboxRelay {
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly retentionMs: number;
  private readonly listener: PgListener;
  private running = false;
  private loop?: Promise<void>;
  private wakeRequested = false;
  private wakeSleeper?: () => void;
  private lastPurge = 0;
  private consecutiveFailures = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
    this.pool.on('error', (err) => options.logger.warn({ err: err.message }, 'outbox pool client error'));
    // pg-pool listens for errors of idle clients only. A connection that drops while a batch holds it emits 'error'
    // too, and an 'error' nobody listens for is an uncaught exception: the whole service would stop for a database
    // outage. The batch's query rejects with the same error and is retried with backoff; the release drops the client.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.table = `"${options.schema}"."outbox"`;
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? 200)); // inlined into the claim query
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.retentionMs = options.retentionMs ?? 24 * 3600_000;
    this.listener = new PgListener({
      databaseUrl: options.databaseUrl,
      channel: outboxChannel(options.schema),
      logger: options.logger,
      onNotification: () => this.wake(),
      onListening: () => this.wake(), // catch up on anything committed while we were not listening
      failureMessage: 'outbox listener failed; polling until it reconnects',
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.listener.start();
    // A relay that failed while the broker was away backs off for up to 5 s; the reconnection itself is the
    // moment to try again (a restarted service is otherwise not publishing, so not ready, for seconds).
    this.options.broker.connection.on('connect', this.onBrokerConnect);
    this.loop = this.run();
  }

  private readonly onBrokerConnect = (): void => this.wake();

  async stop(): Promise<void> {
    this.running = false;
    this.options.broker.connection.off('connect', this.onBrokerConnect);
    this.wake();
    await this.loop;
    await this.listener.stop();
    await this.pool.end();
  }

  /** Whether its last attempt succeeded; false while it backs off (broker or database away): rows wait in the outbox. */
  isPublishing(): boolean {
    return this.running && this.consecutiveFailures === 0;
  }

  /** Number of unpublished rows and the age of the oldest one. */
  async backlog(): Promise<{ count: number; oldestAgeMs: number }> {
    const { rows } = await this.pool.query<{ count: string; oldest: Date | null }>(
      `select count(*) as count, min(created_at) as oldest from ${this.table} where published_at is null`,
    );
    const row = rows[0];
    return {
      count: Number(row?.count ?? 0),
      oldestAgeMs: row?.oldest ? Date.now() - row.oldest.getTime() : 0,
    };
  }

  private wake(): void {
    this.wakeRequested = true;
    this.wakeSleeper?.();
  }

  private async sleep(ms: number): Promise<void> {
    if (this.wakeRequested) {
      this.wakeRequested = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeSleeper = undefined;
    this.wakeRequested = false;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let published = 0;
      try {
        published = await this.publishBatch();
        this.consecutiveFailures = 0;
        await this.purgeIfDue();
      } catch (err) {
        this.consecutiveFailures += 1;
        const backoff = Math.min(5_000, 100 * 2 ** this.consecutiveFailures);
        this.options.logger.warn({ err: (err as Error).message, backoffMs: backoff }, 'outbox publish failed; will retry');
        await this.sleep(backoff);
        continue;
      }
      if (published < this.batchSize) await this.sleep(this.pollIntervalMs);
    }
  }

  /**
   * Claims, publishes and marks one batch; returns how many rows it published. Two round trips to the
   * database per batch — `begin; select … for update skip locked` and `update …; commit` each go as one
   * simple-protocol query — because at a few rows per batch the relay's statements, not its rows, cost.
   */
  async publishBatch(): Promise<number> {
    if (!this.options.broker.isConnected()) throw new Error('broker is not connected');
    const client = await this.pool.connect();
    try {
      const claimed = (await client.query(
        `begin;
         select id, type, routing_key, payload::text as payload, headers,
                payload->>'correlationid' as correlation_id, created_at
           from ${this.table}
          where published_at is null
          order by seq
          limit ${this.batchSize}
          for update skip locked`,
      )) as unknown as [pg.QueryResult, pg.QueryResult<OutboxRow>];
      const rows = claimed[1].rows;
      if (rows.length === 0) {
        await client.query('commit');
        return 0;
      }
      await Promise.all(rows.map((row) => this.publishRow(row)));
      await client.query(`update ${this.table} set published_at = now() where id = any(${uuidArrayLiteral(rows)}); commit`);
      return rows.length;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private publishRow(row: OutboxRow): Promise<void> {
    const attributes = {
      'messaging.message.id': row.id,
      'messaging.message.body.size': Buffer.byteLength(row.payload),
      ...(row.correlation_id ? { 'messaging.message.conversation_id': row.correlation_id } : {}),
    };
    return withPublishSpan(row.routing_key, row.headers, attributes, async (traceHeaders) => {
      await this.options.broker.publish(DOMAIN_EXCHANGE, row.routing_key, Buffer.from(row.payload), {
        messageId: row.id,
        type: row.type,
        correlationId: row.correlation_id ?? undefined,
        timestamp: Math.floor(row.created_at.getTime() / 1000),
        contentType: CLOUDEVENTS_CONTENT_TYPE,
        headers: { ...row.headers, ...traceHeaders },
      });
      this.options.observer?.published?.(row.routing_key);
    });
  }

  private async purgeIfDue(): Promise<void> {
    if (Date.now() - this.lastPurge < 60_000) return;
    this.lastPurge = Date.now();
    await this.pool.query(
      `delete from ${this.table} where seq in (
         select seq from ${this.table} where published_at < now() - ($1::bigint * interval '1 millisecond') limit 10000)`,
      [this.retentionMs],
    );
  }
}

/** `'{…}'::uuid[]` of the rows' ids, inlined (the simple protocol takes no parameters); ids are checked to be UUIDs. */
function uuidArrayLiteral(rows: readonly { id: string }[]): string {
  for (const { id } of rows) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new Error(`outbox id is not a UUID: ${id}`);
  }
  return `'{${rows.map((row) => row.id).join(',')}}'::uuid[]`;
}
