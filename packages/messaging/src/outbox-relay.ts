import pg from 'pg';
import type { Logger } from 'pino';
import type { Broker } from './broker';
import type { MessagingObserver } from './observability';
import { publishOutboxRow, uuidArrayLiteral } from './outbox-publish';
import { destroySocket, settlesWithin } from './pg-listener';

export interface OutboxRelayOptions {
  databaseUrl: string;
  schema: string;
  broker: Broker;
  logger: Logger;
  batchSize?: number;
  /** How often it looks for rows left behind (default 1 s). */
  pollIntervalMs?: number;
  /**
   * How old an unpublished row must be before the relay takes it (default 3 s): younger ones are the in-process
   * publisher's (CommittedOutboxPublisher), which publishes a row within milliseconds of its commit and marks it
   * within `markDelayMs` after the confirm. Long enough that the two do not race on the happy path (a double publish
   * is harmless, consumers dedupe, but should be rare); short enough that a row a crash left behind waits only seconds.
   */
  graceMs?: number;
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
 * The fallback publisher of the outbox: every committed row is published at once by the process that committed it
 * (CommittedOutboxPublisher); the relay publishes what that left behind — rows committed while the broker was away,
 * whose publish was not confirmed, or whose process crashed first. It polls for rows unpublished for longer than
 * `graceMs`, claims them with FOR UPDATE SKIP LOCKED so any number of relay instances can run side by side, and marks
 * them published only after the broker confirmed them (a crash in between republishes: consumers dedupe). No
 * trigger, no NOTIFY: the write path pays nothing for the relay.
 */
export class OutboxRelay {
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly graceMs: number;
  private running = false;
  private loop?: Promise<void>;
  private wakeRequested = false;
  private wakeSleeper?: () => void;
  private consecutiveFailures = 0;
  /** The connection of the batch under way, for stop() to cut if the database stopped answering. */
  private batchClient?: pg.PoolClient;

  constructor(private readonly options: OutboxRelayOptions) {
    // Bounded connect: to a server behind a partition a checkout would otherwise wait for the operating system.
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2, connectionTimeoutMillis: 5_000 });
    this.pool.on('error', (err) => options.logger.warn({ err: err.message }, 'outbox pool client error'));
    // pg-pool listens for errors of idle clients only. A connection that drops while a batch holds it emits 'error'
    // too, and an 'error' nobody listens for is an uncaught exception: the whole service would stop for a database
    // outage. The batch's query rejects with the same error and is retried with backoff; the release drops the client.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.table = `"${options.schema}"."outbox"`;
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? 200)); // inlined into the claim query
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.graceMs = Math.max(0, Math.floor(options.graceMs ?? 3_000)); // inlined into the claim query
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // A relay that failed while the broker was away backs off for up to 5 s; the reconnection itself is the
    // moment to try again (a restarted service is otherwise not publishing, so not ready, for seconds).
    this.options.broker.connection.on('connect', this.onBrokerConnect);
    this.loop = this.run();
  }

  private readonly onBrokerConnect = (): void => this.wake();

  /**
   * Stops the loop and the pool, within a few seconds whatever the database does. A batch in flight
   * when the network to the database went away without a reset waits for an answer that never comes; after `graceMs`
   * its connection is destroyed (the batch rolls back by itself on the server; its rows are published again later,
   * and consumers dedupe). stop() used to hang there.
   */
  async stop(graceMs = 2_000): Promise<void> {
    this.running = false;
    this.options.broker.connection.off('connect', this.onBrokerConnect);
    this.wake();
    if (!(await settlesWithin(this.loop ?? Promise.resolve(), graceMs)) && this.batchClient) destroySocket(this.batchClient);
    await settlesWithin(this.pool.end(), graceMs);
  }

  /** Whether its last attempt succeeded; false while it backs off (broker or database away): rows wait in the outbox. */
  isPublishing(): boolean {
    return this.running && this.consecutiveFailures === 0;
  }

  /**
   * Number of unpublished rows and the age of the oldest one: rows in flight in the publisher after commit (for
   * milliseconds) and those waiting for the relay. An oldest age past the grace period means the relay is behind.
   */
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
   * Claims, publishes and marks one batch of rows older than the grace period; returns how many it published. While
   * there are none (the normal case: the publisher after commit got them all), one round trip that finds nothing.
   * Otherwise two more — `begin; select … for update skip locked` and `update …; commit`, each one simple-protocol
   * query.
   */
  async publishBatch(): Promise<number> {
    if (!this.options.broker.isConnected()) throw new Error('broker is not connected');
    const leftBehind = `published_at is null and created_at < now() - interval '${this.graceMs} milliseconds'`;
    const client = await this.pool.connect();
    this.batchClient = client;
    try {
      // Outside a transaction: no begin/commit for the look that finds nothing.
      const waiting = await client.query(`select 1 from ${this.table} where ${leftBehind} limit 1`);
      if (waiting.rowCount === 0) return 0;
      const claimed = (await client.query(
        `begin;
         select id, type, routing_key, payload::text as payload, headers,
                payload->>'correlationid' as correlation_id, created_at
           from ${this.table}
          where ${leftBehind}
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
      // `published_at is null`: the publisher after commit may have marked a row meanwhile; its time stays.
      await client.query(
        `update ${this.table} set published_at = now() where id = any(${uuidArrayLiteral(rows.map((row) => row.id))}) and published_at is null; commit`,
      );
      return rows.length;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      this.batchClient = undefined;
      client.release();
    }
  }

  private publishRow(row: OutboxRow): Promise<void> {
    return publishOutboxRow(
      this.options.broker,
      {
        id: row.id,
        type: row.type,
        routingKey: row.routing_key,
        body: row.payload,
        headers: row.headers,
        correlationId: row.correlation_id,
        createdAt: row.created_at,
      },
      this.options.observer,
    );
  }
}
