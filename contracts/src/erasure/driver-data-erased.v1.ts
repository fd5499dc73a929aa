import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { DriverId, Timestamp } from '../fields';

/**
 * A service's confirmation that it erased what it kept about a driver (rows, outbox payloads, its waiting and
 * parked messages), after `driver.erased`. Ids and counts only. One contract per confirming service, since
 * every event type has exactly one producer (see `eventFlow`); they share this shape.
 */
const DriverDataErased = Type.Object(
  {
    driverId: DriverId,
    erasedAt: Timestamp,
    /** How many messages naming the driver were removed from the service's retry and parking queues. */
    removedMessages: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: true },
);

export const IdentityDriverDataErasedV1 = defineEvent('identity.driver-data.erased', 1, DriverDataErased);
export const MailerDriverDataErasedV1 = defineEvent('mailer.driver-data.erased', 1, DriverDataErased);
export const NotificationDriverDataErasedV1 = defineEvent('notification.driver-data.erased', 1, DriverDataErased);
export type DriverDataErasedV1 = EventData<typeof IdentityDriverDataErasedV1>;
