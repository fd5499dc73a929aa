import type { MikroORM } from '@mikro-orm/core';
import type { NotificationView } from '@onboarding/contracts';
import pg from 'pg';
import type { Logger } from 'pino';
import { Notification } from './notification';

type Listener = (notification: NotificationView) => void;

/** Postgres channel the notification insert trigger announces new rows on (one per schema). */
export function notificationChannel(schema: string): string {
  return `${schema}_notification_created`;
}

/**
 * Pushes every stored notification to the live subscribers of this process. New rows are announced by a
 * database trigger (LISTEN/NOTIFY), so a client connected to any instance sees the notifications stored by
 * every instance, and only committed ones.
 */
export class NotificationStream {
  private readonly listeners = new Set<Listener>();
  private client?: pg.Client;
  private running = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly options: { databaseUrl: string; schema: string; logger: Logger },
  ) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  start(): void {
    this.running = true;
    void this.listen();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.listeners.clear();
    await this.client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    while (this.running) {
      const client = new pg.Client({ connectionString: this.options.databaseUrl });
      this.client = client;
      try {
        const closed = new Promise<void>((resolve) => {
          client.on('error', () => resolve());
          client.on('end', () => resolve());
        });
        await client.connect();
        client.on('notification', (message) => void this.publish(message.payload));
        await client.query(`listen "${notificationChannel(this.options.schema)}"`);
        await closed;
      } catch (err) {
        this.options.logger.warn({ err }, 'notification stream listener failed; reconnecting');
      }
      await client.end().catch(() => undefined);
      if (this.running) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }

  private async publish(id: string | undefined): Promise<void> {
    if (!id || this.listeners.size === 0) return;
    const notification = await this.orm.em.fork().findOne(Notification, id);
    if (!notification) return;
    const view = notification.toView();
    for (const listener of this.listeners) listener(view);
  }
}
