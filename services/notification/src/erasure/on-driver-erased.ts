import { DriverErasedV1, ERASURE_EVENT_TYPES } from '@onboarding/contracts';
import {
  forgetParkedPersonalData,
  forgetOutboxSubject,
  handlerFor,
  removeMessagesNaming,
  stageEvent,
  type WaitingMessages,
} from '@onboarding/messaging';
import { Notification } from '../notifications/notification';
import { erasureEvents } from './outgoing-events';

/**
 * Erases what the notification service keeps about a driver, then confirms: the messages naming the driver
 * leave its retry and parking queues (first, and harmless to repeat), then in one transaction with the inbox
 * record the driver's notifications (their text names the driver) and its outbox rows about the driver are
 * deleted. The admins' own addresses (the recipients) are not the driver's and stay.
 */
export function onDriverErased(waiting: WaitingMessages) {
  return handlerFor(DriverErasedV1, async (event, context) => {
    const { driverId } = event.data;
    const removed = await removeMessagesNaming({ ...waiting, naming: driverId, sparingTypes: ERASURE_EVENT_TYPES });
    await context.commit(async (em) => {
      // Parked messages about the driver keep their scrubbed rows but lose the personal data kept for a replay.
      const forgotten = await forgetParkedPersonalData(em, waiting.schema, driverId);
      await em.nativeDelete(Notification, { driverId });
      await forgetOutboxSubject(em, driverId);
      stageEvent(em, erasureEvents.dataErased(driverId, removed + forgotten), context.causedBy(driverId));
    });
  });
}
