import pg from 'pg';
import type { Logger } from 'pino';

export interface PgListenerOptions {
  databaseUrl: string;
  /** The LISTEN/NOTIFY channel. */
  channel: string;
  logger: Logger;
  onNotification(payload: string | undefined): void;
  /** Called each time the listener is (re)established: whatever was notified meanwhile was missed. */
  onListening?(): void;
  /** Called when an established listener loses its connection (before it is retried): nothing is heard until `onListening`. */
  onLost?(): void;
  /** Logged when the connection fails, before it is retried. */
  failureMessage: string;
  retryDelayMs?: number;
}

/**
 * A dedicated PostgreSQL connection that LISTENs on one channel and reconnects by itself, for as long as it
 * runs. NOTIFY is only a wake-up call: callers must tolerate missed notifications (see `onListening`).
 */
export class PgListener {
  private running = false;
  private client?: pg.Client;
  private loop?: Promise<void>;

  constructor(private readonly options: PgListenerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.listen();
  }

  /**
   * Ends the connection and the loop. Bounded: a graceful `end()` waits for the server to close its side, which never
   * happens when the network to it is gone without a reset (a partition), and stop() used to hang there; after
   * `graceMs` the socket is destroyed instead.
   */
  async stop(graceMs = 1_000): Promise<void> {
    this.running = false;
    const client = this.client;
    if (client) {
      const ended = client.end().catch(() => undefined);
      if (!(await settlesWithin(ended, graceMs))) destroySocket(client);
    }
    // The loop ends once its connection closes, which the socket's destruction above guarantees; bounded all the same,
    // so a stop never outlasts the caller's grace period because of a driver quirk.
    await settlesWithin(this.loop ?? Promise.resolve(), graceMs);
  }

  private async listen(): Promise<void> {
    while (this.running) {
      // Bounded connect: to a server behind a partition it would otherwise wait for the operating system's timeout.
      const client = new pg.Client({ connectionString: this.options.databaseUrl, connectionTimeoutMillis: 10_000 });
      this.client = client;
      let listening = false;
      try {
        const closed = new Promise<void>((resolve) => {
          client.on('error', () => resolve());
          client.on('end', () => resolve());
        });
        // pg never settles connect() when end() comes while it is connecting (its 'end' handler skips the callback once
        // end() was called, and clears the connection timeout): stop() during a reconnect then hung for ever on the loop.
        await Promise.race([
          client.connect(),
          closed.then(() => {
            throw new Error('connection closed while connecting');
          }),
        ]);
        client.on('notification', (message) => this.options.onNotification(message.payload));
        await client.query(`listen "${this.options.channel}"`);
        listening = true;
        this.options.onListening?.();
        await closed;
      } catch (err) {
        if (this.running) this.options.logger.warn({ err }, this.options.failureMessage);
      }
      if (listening && this.running) this.options.onLost?.();
      this.client = undefined;
      if (
        !(await settlesWithin(
          client.end().catch(() => undefined),
          1_000,
        ))
      )
        destroySocket(client);
      if (this.running) await new Promise((resolve) => setTimeout(resolve, this.options.retryDelayMs ?? 1_000));
    }
  }
}

/** Whether `promise` settled within `ms`. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([promise.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return settled;
}

/**
 * Closes a pg client's socket at once. pg's `end()` only does so when a query is running or the connection already
 * failed; an idle client's `end()` waits for the server, for ever when the server cannot be reached. pg has no
 * public call for it, hence the narrow cast to its (stable, documented in its source) `connection.stream`.
 */
export function destroySocket(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
