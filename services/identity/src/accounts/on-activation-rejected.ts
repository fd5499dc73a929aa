import { DriverActivationRejectedV1 } from '@onboarding/contracts';
import { PermanentMessageError, handlerFor, stageEvent } from '@onboarding/messaging';
import type { DirectoryProvider } from '../directory/directory';
import { AccountLink } from './account-link';
import { directoryCall } from './directory-call';
import { identityEvents } from './outgoing-events';

/**
 * Compensation: the driver could not be activated, so the account created for it is deleted again. The link
 * decides which account that is: the event's `objectId` must be the account linked to the driver it names,
 * else nothing is deleted and the message is parked with the reason (a forged or confused event must never
 * remove someone else's directory account). An account already deleted is compensation done.
 */
export function onActivationRejected(directory: DirectoryProvider) {
  return handlerFor(DriverActivationRejectedV1, async (event, context) => {
    const { driverId, objectId } = event.data;
    const link = await context.em.findOne(AccountLink, { driverId });
    if (!link) throw new PermanentMessageError(`no directory account is linked to driver ${driverId}`, 'no-linked-account');
    if (link.objectId !== objectId) {
      throw new PermanentMessageError(`account ${objectId} is not the one linked to driver ${driverId}`, 'account-not-linked');
    }
    if (link.isDeleted()) return;
    await directoryCall(() => directory.deleteAccount(link.objectId));
    await context.commit(async (em) => {
      const current = await em.findOneOrFail(AccountLink, { driverId });
      if (current.isDeleted()) return;
      current.markDeleted();
      stageEvent(em, identityEvents.deleted(driverId, current.objectId, 'activation-rejected', current.deletedAt!), context.causedBy(driverId));
    });
  });
}
