import { NotificationAdminsNotifiedV1 } from '@onboarding/contracts';
import { outgoing, type OutgoingEvent } from '@onboarding/messaging';

/** What the notification service tells the platform it did: which notifications, how many admins; no address, no text. */
export const notificationEvents = {
  adminsNotified(driverId: string, notificationType: string, notificationIds: readonly string[], at = new Date()): OutgoingEvent {
    return outgoing(NotificationAdminsNotifiedV1, {
      driverId,
      notificationType,
      notificationIds: [...notificationIds],
      recipientCount: notificationIds.length,
      notifiedAt: at.toISOString(),
    });
  },
};
