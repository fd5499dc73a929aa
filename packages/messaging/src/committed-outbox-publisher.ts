import pg from 'pg';
import type { Logger } from 'pino';
import type { CloudEvent } from '@onboarding/contracts';
import type { Broker } from './broker';
import type { MessagingObserver } from './observability';
import { publishOutboxRow, uuidArrayLiteral, type OutboxRowToPublish } from './outbox-publish';
import { destroySocket, settlesWithin } from './pg-listener';

/** An outbox row whose transaction has committed: what `publishCommitted` takes. */
export interface CommittedOutboxRow {
  id: string;
  routingKey: string;
  /** The envelope the row stores (its `payload` column), or its JSON text. */
  payload: CloudEvent | string;
  /** The row's `headers`: the trace context of the transaction that wrote it. */
  headers: Record<string, string>;
  /** The row's `created_at`, the message's timestamp (now when left out). */
  createdAt?: Date;
}

export interface CommittedOutboxPublisherOptions {
  databaseUrl: string;
  schema: string;
  broker: Broker;
  logger: Logger;
  observer?: MessagingObserver;
  /**
   * How long a confirmed id waits for others before one UPDATE marks them all published (default 200 ms). Only the
   * marking waits: the message itself is on its way at once. Longer batches more ids per round trip (at 40 events/s,
   * about 8 instead of 2 at 50 ms); a crash inside the window only means the relay publishes those rows again. Must
   * stay well below the relay's grace period.
   */
  markDelayMs?: number;
  /** Confirmed ids that are marked at once, without waiting for `markDelayMs` (default 200). */
  markBatchSize?: number;
  /** Publishes awaiting their confirm beyond which further rows are left to the relay (default 2000). */
  maxInFlight?: number;
}

/**
 * Publishes outbox rows right after their transaction committed, in the process that committed them, and marks the
 * confirmed ones published in batches (one UPDATE per batch). Whatever it does not get through — the broker away,
 * a confirm refused or timed out, the process stopping or crashing first, a marking UPDATE that failed — stays
 * unpublished in the outbox, and the relay publishes it once it is older than the relay's grace period: nothing is
 * lost, and the rare double publish is deduped by the consumers' inbox.
 *
 * `publishCommitted` never blocks its caller: it starts the publishes and returns. Call it only after COMMIT
 * succeeded (a rolled-back row must never be published); the ORM's commits are handed over by
 * `publishOutboxAfterCommit`, and a raw-SQL path calls it directly after its own commit.
 */
export class CommittedOutboxPublisher {
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly markDelayMs: number;
  private readonly markBatchSize: number;
  private readonly maxInFlight: number;
  private running = false;
  private readonly inFlight = new Set<Promise<void>>();
  private confirmed: string[] = [];
  private markTimer?: NodeJS.Timeout;
  private marking?: Promise<void>;
  /** The connection of the UPDATE under way, for stop() to cut if the database stopped answering. */
  private markClient?: pg.PoolClient;
  private leftToRelay = 0;
  private stopped?: Promise<void>;
  private lastLeftLog = 0;

  constructor(private readonly options: CommittedOutboxPublisherOptions) {
    // One connection: one UPDATE at a time, and ids confirmed meanwhile join the next one.
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 1, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 });
    this.pool.on('error', (err) => options.logger.warn({ err: err.message }, 'outbox marking pool client error'));
    // As in the relay: an error of a checked-out client nobody listens for would be an uncaught exception.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.table = `"${options.schema}"."outbox"`;
    this.markDelayMs = options.markDelayMs ?? 200;
    this.markBatchSize = Math.max(1, Math.floor(options.markBatchSize ?? 200));
    this.maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 2_000));
  }

  start(): void {
    this.running = true;
  }

  /**
   * Publishes rows whose transaction has committed, with publisher confirms, and marks the confirmed ones published
   * shortly after. Returns at once; never throws. Rows it cannot take (stopped, broker away, too many in flight) are
   * left to the relay.
   */
  publishCommitted(rows: readonly CommittedOutboxRow[]): void {
    if (rows.length === 0) return;
    if (!this.running || !this.options.broker.isConnected()) {
      this.leaveToRelay(rows.length, this.running ? 'broker not connected' : 'publisher not running');
      return;
    }
    for (const row of rows) {
      if (this.inFlight.size >= this.maxInFlight) {
        this.leaveToRelay(1, 'too many publishes awaiting their confirm');
        continue;
      }
      let publishable: OutboxRowToPublish;
      try {
        publishable = toPublishable(row);
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message, messageId: row.id }, 'outbox row not publishable after commit; left to the relay');
        continue;
      }
      const publishing: Promise<void> = this.publish(publishable).finally(() => this.inFlight.delete(publishing));
      this.inFlight.add(publishing);
    }
  }

  /** Publishes awaiting their confirm, and confirmed ids not yet marked. */
  pending(): { publishing: number; unmarked: number } {
    return { publishing: this.inFlight.size, unmarked: this.confirmed.length };
  }

  /**
   * Takes no more rows, waits up to `graceMs` for the confirms under way, then up to half of it to mark what was
   * confirmed, cuts the marking connection if the database did not answer, and closes its pool (half of it again):
   * at most twice `graceMs` whatever the database or the broker do. Whatever it could not finish the relay publishes
   * later (unmarked rows are published a second time; consumers dedupe).
   */
  stop(graceMs = 1_000): Promise<void> {
    this.running = false;
    this.stopped ??= this.finish(graceMs);
    return this.stopped;
  }

  private async finish(graceMs: number): Promise<void> {
    await settlesWithin(Promise.allSettled([...this.inFlight]), graceMs);
    const deadline = Date.now() + graceMs / 2;
    while ((this.confirmed.length > 0 || this.marking) && Date.now() < deadline) {
      if (!this.marking) this.mark();
      if (!(await settlesWithin(this.marking ?? Promise.resolve(), Math.max(1, deadline - Date.now())))) break;
    }
    clearTimeout(this.markTimer);
    this.markTimer = undefined;
    if (this.markClient) destroySocket(this.markClient);
    await settlesWithin(this.pool.end(), graceMs / 2);
  }

  private async publish(row: OutboxRowToPublish): Promise<void> {
    try {
      await publishOutboxRow(this.options.broker, row, this.options.observer);
    } catch (err) {
      this.leaveToRelay(1, (err as Error).message);
      return;
    }
    this.confirmed.push(row.id);
    this.scheduleMark();
  }

  private scheduleMark(): void {
    if (this.marking) return; // the UPDATE under way schedules the next one when it ends
    if (this.confirmed.length >= this.markBatchSize || !this.running) this.mark();
    else this.markTimer ??= setTimeout(() => this.mark(), this.markDelayMs);
  }

  private mark(): void {
    clearTimeout(this.markTimer);
    this.markTimer = undefined;
    const ids = this.confirmed.splice(0, this.markBatchSize);
    if (ids.length === 0) return;
    this.marking = this.markPublished(ids)
      .catch((err: Error) =>
        // Published but still unmarked: the relay publishes them again after its grace period, and consumers dedupe.
        this.options.logger.warn({ err: err.message, rows: ids.length }, 'marking published outbox rows failed; the relay will publish them again'),
      )
      .finally(() => {
        this.marking = undefined;
        if (this.confirmed.length > 0) this.scheduleMark();
      });
  }

  /** One UPDATE for the batch; `published_at is null` keeps the time of a relay that got there first. */
  private async markPublished(ids: readonly string[]): Promise<void> {
    const client = await this.pool.connect();
    this.markClient = client;
    try {
      await client.query(`update ${this.table} set published_at = now() where id = any(${uuidArrayLiteral(ids)}) and published_at is null`);
    } finally {
      this.markClient = undefined;
      client.release();
    }
  }

  /** Logs rows left to the relay, at most every 5 s with how many since the last line: an outage must not flood the log. */
  private leaveToRelay(count: number, reason: string): void {
    this.leftToRelay += count;
    const now = Date.now();
    if (now - this.lastLeftLog < 5_000) return;
    this.options.logger.warn({ rows: this.leftToRelay, reason }, 'outbox rows not published after commit; the relay will publish them');
    this.leftToRelay = 0;
    this.lastLeftLog = now;
  }
}

/** What the broker is sent for a committed row: as the relay would send the same row read back from the table. */
function toPublishable(row: CommittedOutboxRow): OutboxRowToPublish {
  const body = typeof row.payload === 'string' ? row.payload : JSON.stringify(row.payload);
  const envelope = typeof row.payload === 'string' ? (JSON.parse(row.payload) as CloudEvent) : row.payload;
  return {
    id: row.id,
    type: envelope.type,
    routingKey: row.routingKey,
    body,
    headers: row.headers,
    correlationId: typeof envelope.correlationid === 'string' ? envelope.correlationid : null,
    createdAt: row.createdAt ?? new Date(),
  };
}
