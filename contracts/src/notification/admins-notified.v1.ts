import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { DriverId, Timestamp } from '../fields';

/**
 * The notification service stored the admins' notifications about a driver (on `driver.activated` or
 * `driver.registration-failed`). Ids and counts only: no recipient address and no notification text (it
 * names the driver).
 */
export const NotificationAdminsNotifiedV1 = defineEvent(
  'notification.admins-notified',
  1,
  Type.Object(
    {
      driverId: DriverId,
      /** What the admins were told about: the notification type, e.g. `driver.activated`. */
      notificationType: Type.String({ minLength: 1, maxLength: 100 }),
      /** The notifications stored by this delivery, one per admin recipient not yet told. */
      notificationIds: Type.Array(Type.String({ format: 'uuid' }), { maxItems: 1000 }),
      recipientCount: Type.Integer({ minimum: 0 }),
      notifiedAt: Timestamp,
    },
    { additionalProperties: true },
  ),
);
export type NotificationAdminsNotifiedV1 = EventData<typeof NotificationAdminsNotifiedV1>;
