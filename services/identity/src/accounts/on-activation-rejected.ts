import { DriverActivationRejectedV1 } from '@onboarding/contracts';
import { handlerFor, stageEvent } from '@onboarding/messaging';
import type { DirectoryProvider } from '../directory/directory';
import { AccountLink } from './account-link';
import { directoryCall } from './directory-call';
import { identityEvents } from './outgoing-events';

/** Compensation: the driver could not be activated, so the account created for it is deleted again. */
export function onActivationRejected(directory: DirectoryProvider) {
  return handlerFor(DriverActivationRejectedV1, async (event, context) => {
    const { driverId, objectId } = event.data;
    await directoryCall(() => directory.deleteAccount(objectId));
    await context.commit(async (em) => {
      const link = await em.findOne(AccountLink, { driverId, objectId });
      link?.markDeleted();
      stageEvent(em, identityEvents.deleted(driverId, objectId, 'activation-rejected'), context.causedBy(driverId));
    });
  });
}
