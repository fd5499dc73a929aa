import { DriverDeletedV1 } from '@onboarding/contracts';
import { handlerFor, stageEvent } from '@onboarding/messaging';
import type { DirectoryProvider } from '../directory/directory';
import { AccountLink } from './account-link';
import { directoryCall } from './directory-call';
import { identityEvents } from './outgoing-events';

/** The driver was deleted: delete its account (if it has one yet; a later account is compensated instead). */
export function onDriverDeleted(directory: DirectoryProvider) {
  return handlerFor(DriverDeletedV1, async (event, context) => {
    const { driverId } = event.data;
    const link = await context.em.findOne(AccountLink, { driverId });
    if (!link || link.isDeleted()) return;
    await directoryCall(() => directory.deleteAccount(link.objectId));
    await context.commit(async (em) => {
      const current = await em.findOneOrFail(AccountLink, { driverId });
      if (current.isDeleted()) return;
      current.markDeleted();
      stageEvent(em, identityEvents.deleted(driverId, current.objectId, 'driver-deleted', current.deletedAt!), context.causedBy(driverId));
    });
  });
}
