import type { MikroORM } from '@mikro-orm/core';
import type { NotificationView } from '@onboarding/contracts';
import { PgListener } from '@onboarding/messaging';
import type { Logger } from 'pino';

/** A stored notification with its position in the stream (`seq`, in commit order: see the sequence migration). */
export interface StreamedNotification {
  position: bigint;
  view: NotificationView;
}

/** One open stream, as the fan-out sees it. */
export interface Subscriber {
  /** The next notifications in position order; a subscriber skips what it has already written. */
  deliver(batch: readonly StreamedNotification[]): void;
  /** The stream cannot go on (the database failed): end it, so the client reconnects and resumes. */
  close(): void;
}

/** How many rows one query reads, for the fan-out and for a resuming client's catch-up. */
export const STREAM_BATCH = 100;

/** Postgres channel the notification insert trigger announces new rows on (one per schema; the migration that made the trigger spells the same name). */
export function notificationChannel(schema: string): string {
  return `${schema}_notification_created`;
}

interface NotificationRow {
  seq: string;
  id: string;
  type: NotificationView['type'];
  driver_id: string;
  address: string;
  message: string;
  created_at: Date | string;
  read_at: Date | string | null;
}

const iso = (value: Date | string) => new Date(value).toISOString();

/**
 * Pushes every stored notification to the live subscribers of this process, in position order and without
 * gaps. New rows are announced by a database trigger (LISTEN/NOTIFY), but a NOTIFY is only a wake-up call: on
 * each one (and each time the listener is re-established, since NOTIFYs sent meanwhile are lost) one query reads
 * every row past the last position fanned out. A client connected to any instance so sees the notifications
 * stored by every instance, and only committed ones. Any database failure ends every stream rather than
 * leaving it silently behind: the clients reconnect with `Last-Event-ID` and catch up from the table.
 */
export class NotificationStream {
  private readonly subscribers = new Set<Subscriber>();
  private readonly listener: PgListener;
  private readonly logger: Logger;
  /** The last position fanned out; unknown until the first query after start. */
  private position: bigint | undefined;
  private reading?: Promise<void>;
  private readAgain = false;

  constructor(
    private readonly orm: MikroORM,
    options: { databaseUrl: string; schema: string; logger: Logger },
  ) {
    this.logger = options.logger;
    this.listener = new PgListener({
      databaseUrl: options.databaseUrl,
      channel: notificationChannel(options.schema),
      logger: options.logger,
      onNotification: () => this.wake(),
      onListening: () => this.wake(),
      onLost: () => this.closeAll('notification stream listener lost its connection; closing live streams'),
      failureMessage: 'notification stream listener failed; reconnecting',
    });
  }

  get open(): number {
    return this.subscribers.size;
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  start(): void {
    this.listener.start();
  }

  async stop(): Promise<void> {
    this.subscribers.clear();
    await this.listener.stop();
    await this.reading;
  }

  /** Up to `limit` notifications after `position`, in position order (a resuming client's catch-up, and the fan-out). */
  async after(position: bigint, limit = STREAM_BATCH): Promise<StreamedNotification[]> {
    // MikroORM core's Connection leaves execute()'s result untyped; with its default method 'all' it resolves to the rows.
    const rows = (await this.orm.em.getConnection().execute(
      `select n.seq, n.id, n.type, n.driver_id, r.address, n.message, n.created_at, n.read_at
           from notification n join recipient r on r.id = n.recipient_id
          where n.seq > ? order by n.seq limit ?`,
      [position.toString(), limit],
    )) as NotificationRow[];
    return rows.map((row) => ({
      position: BigInt(row.seq),
      view: {
        id: row.id,
        type: row.type,
        driverId: row.driver_id,
        recipient: row.address,
        message: row.message,
        createdAt: iso(row.created_at),
        readAt: row.read_at === null ? null : iso(row.read_at),
      },
    }));
  }

  /** One read at a time; a wake-up during a read makes it read once more, so no announced row is left behind. */
  private wake(): void {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = this.readNew().finally(() => {
      this.reading = undefined;
      if (this.readAgain) {
        this.readAgain = false;
        this.wake();
      }
    });
  }

  private async readNew(): Promise<void> {
    try {
      if (this.position === undefined) {
        const [head] = (await this.orm.em.getConnection().execute('select coalesce(max(seq), 0) as seq from notification')) as { seq: string }[];
        this.position = BigInt(head?.seq ?? 0);
      }
      for (;;) {
        const batch = await this.after(this.position);
        const last = batch[batch.length - 1];
        if (!last) return;
        this.position = last.position;
        for (const subscriber of this.subscribers) subscriber.deliver(batch);
        if (batch.length < STREAM_BATCH) return;
      }
    } catch (err) {
      // Never thrown on: this runs from a NOTIFY callback, where a rejection would take the process down.
      this.closeAll('notification stream could not read new notifications; closing live streams', err);
    }
  }

  private closeAll(message: string, err?: unknown): void {
    if (this.subscribers.size > 0) this.logger.warn({ err, streams: this.subscribers.size }, message);
    for (const subscriber of [...this.subscribers]) subscriber.close();
    this.subscribers.clear();
  }
}
