import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { DriverId, Timestamp } from '../fields';
import { DriverErasedV1 } from './driver-erased.v1';

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

/**
 * The types of the erasure's own events. They carry ids only, and services removing the messages that name an
 * erased driver leave these in place: they must still reach the service waiting for them.
 */
export const ERASURE_EVENT_TYPES: readonly string[] = [
  DriverErasedV1.type,
  IdentityDriverDataErasedV1.type,
  MailerDriverDataErasedV1.type,
  NotificationDriverDataErasedV1.type,
];
