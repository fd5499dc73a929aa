import type { EntityManager } from '@mikro-orm/core';
import { Notification, type NotificationType } from './notification';
import { Recipient } from './recipient';

/** Stores one notification per active admin; the inbox and the unique key make a redelivery a no-op. */
export async function notifyAdmins(em: EntityManager, type: NotificationType, driverId: string, message: string): Promise<void> {
  const recipients = await em.find(Recipient, { active: true });
  const already = await em.find(Notification, { type, driverId });
  const notified = new Set(already.map((notification) => notification.recipient.id));
  for (const recipient of recipients) {
    if (!notified.has(recipient.id)) em.persist(new Notification(recipient, type, driverId, message));
  }
}
