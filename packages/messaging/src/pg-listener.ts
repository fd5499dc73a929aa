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

  async stop(): Promise<void> {
    this.running = false;
    await this.client?.end().catch(() => undefined);
    await this.loop;
  }

  private async listen(): Promise<void> {
    while (this.running) {
      const client = new pg.Client({ connectionString: this.options.databaseUrl });
      this.client = client;
      let listening = false;
      try {
        const closed = new Promise<void>((resolve) => {
          client.on('error', () => resolve());
          client.on('end', () => resolve());
        });
        await client.connect();
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
      await client.end().catch(() => undefined);
      if (this.running) await new Promise((resolve) => setTimeout(resolve, this.options.retryDelayMs ?? 1_000));
    }
  }
}
