import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';
import type { NotificationView } from '@onboarding/contracts';
import { Recipient } from './recipient';

export type NotificationType = NotificationView['type'];

/** One message for one admin about one driver event. */
export class Notification {
  id: string = randomUUID();
  recipient: Recipient;
  type: NotificationType;
  driverId: string;
  message: string;
  createdAt: Date = new Date();
  readAt: Date | null = null;

  constructor(recipient: Recipient, type: NotificationType, driverId: string, message: string) {
    this.recipient = recipient;
    this.type = type;
    this.driverId = driverId;
    this.message = message;
  }

  /** Idempotent: the first read time is kept. */
  markRead(now = new Date()): void {
    this.readAt ??= now;
  }

  toView(): NotificationView {
    return {
      id: this.id,
      type: this.type,
      driverId: this.driverId,
      recipient: this.recipient.address,
      message: this.message,
      createdAt: this.createdAt.toISOString(),
      readAt: this.readAt ? this.readAt.toISOString() : null,
    };
  }
}

export const NotificationSchema = new EntitySchema<Notification>({
  class: Notification,
  tableName: 'notification',
  uniques: [{ properties: ['recipient', 'type', 'driverId'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    recipient: { kind: 'm:1', entity: () => Recipient, eager: true },
    type: { type: 'string' },
    driverId: { type: 'uuid' },
    message: { type: 'text' },
    createdAt: { type: 'Date' },
    readAt: { type: 'Date', nullable: true },
  },
});
