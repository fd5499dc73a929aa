import type { EntityManager } from '@mikro-orm/core';
import { DriverActivatedV1, DriverRegistrationFailedV1 } from '@onboarding/contracts';
import { handlerFor, type MessageHandler } from '@onboarding/messaging';
import { Notification, type NotificationType } from './notification';
import { Recipient } from './recipient';

/** Stores one notification per active admin; the inbox and the unique key make a redelivery a no-op. */
async function notifyAdmins(em: EntityManager, type: NotificationType, driverId: string, message: string): Promise<void> {
  const recipients = await em.find(Recipient, { active: true });
  const already = await em.find(Notification, { type, driverId });
  const notified = new Set(already.map((notification) => notification.recipient.id));
  for (const recipient of recipients) {
    if (!notified.has(recipient.id)) em.persist(new Notification(recipient, type, driverId, message));
  }
}

export const onDriverActivated = handlerFor(DriverActivatedV1, async (event, context) => {
  const { driverId, firstName, lastName } = event.data;
  await context.commit((em) =>
    notifyAdmins(em, 'driver.activated', driverId, `Driver ${firstName} ${lastName} is registered and active.`),
  );
});

export const onDriverRegistrationFailed = handlerFor(DriverRegistrationFailedV1, async (event, context) => {
  const { driverId, firstName, lastName, reason } = event.data;
  await context.commit((em) =>
    notifyAdmins(
      em,
      'driver.registration-failed',
      driverId,
      `Registration of driver ${firstName} ${lastName} failed: ${reason}`,
    ),
  );
});

export const driverEventHandlers: MessageHandler[] = [onDriverActivated, onDriverRegistrationFailed];
