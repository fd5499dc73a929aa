import { LockMode } from '@mikro-orm/core';
import { DriverErasedV1, ERASURE_EVENT_TYPES } from '@onboarding/contracts';
import { forgetParkedPersonalData, PermanentMessageError, handlerFor, removeMessagesNaming, type WaitingMessages } from '@onboarding/messaging';
import { DriverErasure } from './driver-erasure';

/**
 * The driver service's own part of an erasure that happens on the broker: the messages naming the driver are
 * removed from the unroutable queue (which the broker set-up lets the driver service read: it owns the erasure and
 * cleans it) and from the driver service's own retry and parking queues. Removal comes before the commit and
 * is harmless to repeat, so a retry after a failure between the two finishes the job. Then the driver service's
 * confirmation is recorded on the audit record, like the others'.
 */
export function onDriverErased(waiting: WaitingMessages) {
  return handlerFor(DriverErasedV1, async (event, context) => {
    const { driverId } = event.data;
    const removed = await removeMessagesNaming({ ...waiting, naming: driverId, sparingTypes: ERASURE_EVENT_TYPES });
    await context.commit(async (em) => {
      // Parked messages about the driver keep their scrubbed rows but lose the personal data kept for a replay.
      const forgotten = await forgetParkedPersonalData(em, waiting.schema, driverId);
      const erasure = await em.findOne(DriverErasure, { driverId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!erasure) throw new PermanentMessageError(`no erasure was asked for driver ${driverId}`, 'unknown-erasure');
      erasure.confirm('driver', new Date(), removed + forgotten);
    });
  });
}
