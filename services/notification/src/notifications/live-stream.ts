import type { MikroORM } from '@mikro-orm/core';
import type { NotificationView } from '@onboarding/contracts';
import { PgListener } from '@onboarding/messaging';
import type { Logger } from 'pino';
import { Notification } from './notification';

type Subscriber = (notification: NotificationView) => void;

/** Postgres channel the notification insert trigger announces new rows on (one per schema; the migration that made the trigger spells the same name). */
export function notificationChannel(schema: string): string {
  return `${schema}_notification_created`;
}

/**
 * Pushes every stored notification to the live subscribers of this process. New rows are announced by a
 * database trigger (LISTEN/NOTIFY), so a client connected to any instance sees the notifications stored by
 * every instance, and only committed ones.
 */
export class NotificationStream {
  private readonly subscribers = new Set<Subscriber>();
  private readonly listener: PgListener;

  constructor(
    private readonly orm: MikroORM,
    options: { databaseUrl: string; schema: string; logger: Logger },
  ) {
    this.listener = new PgListener({
      databaseUrl: options.databaseUrl,
      channel: notificationChannel(options.schema),
      logger: options.logger,
      onNotification: (id) => void this.publish(id),
      failureMessage: 'notification stream listener failed; reconnecting',
    });
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
  }

  private async publish(id: string | undefined): Promise<void> {
    if (!id || this.subscribers.size === 0) return;
    const notification = await this.orm.em.fork().findOne(Notification, id);
    if (!notification) return;
    const view = notification.toView();
    for (const subscriber of this.subscribers) subscriber(view);
  }
}
