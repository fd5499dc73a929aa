import { DriverErasedV1, ERASURE_EVENT_TYPES } from '@onboarding/contracts';
import {
  forgetParkedPersonalData,
  forgetOutboxSubject,
  handlerFor,
  removeMessagesNaming,
  stageEvent,
  type WaitingMessages,
} from '@onboarding/messaging';
import { AccountLink } from '../accounts/account-link';
import { directoryCall } from '../accounts/directory-call';
import type { DirectoryProvider } from '../directory/directory';
import { erasureEvents } from './outgoing-events';

/**
 * Erases what identity keeps about a driver, then confirms. The remote and broker steps come first and are
 * idempotent (an account already purged counts as erased; removing no message is fine), so a retry after a
 * failure finishes the job: the messages naming the driver leave identity's retry and parking queues, the
 * directory account is deleted permanently (Graph: deleted, then removed from the deleted items; the local
 * directory: its row). Then, with the inbox record, the link is kept as a tombstone — it holds only the two ids,
 * and a late copy of the registration must find it rather than create a new account — and identity's outbox rows
 * about the driver are deleted. A driver identity never linked is erased all the same: there is just less to do.
 */
export function onDriverErased(directory: DirectoryProvider, waiting: WaitingMessages) {
  return handlerFor(DriverErasedV1, async (event, context) => {
    const { driverId } = event.data;
    const removed = await removeMessagesNaming({ ...waiting, naming: driverId, sparingTypes: ERASURE_EVENT_TYPES });
    const link = await context.em.findOne(AccountLink, { driverId });
    if (link) await directoryCall(() => directory.eraseAccount(link.objectId));
    await context.commit(async (em) => {
      // Parked messages about the driver keep their scrubbed rows but lose the personal data kept for a replay.
      const forgotten = await forgetParkedPersonalData(em, waiting.schema, driverId);
      const current = await em.findOne(AccountLink, { driverId });
      current?.markDeleted();
      await forgetOutboxSubject(em, driverId);
      stageEvent(em, erasureEvents.dataErased(driverId, removed + forgotten), context.causedBy(driverId));
    });
  });
}
