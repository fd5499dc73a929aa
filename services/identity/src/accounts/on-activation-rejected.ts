import { DriverActivationRejectedV1 } from '@onboarding/contracts';
import { PermanentMessageError, handlerFor } from '@onboarding/messaging';
import type { DirectoryProvider } from '../directory/directory';
import { AccountLink } from './account-link';
import { deleteLinkedAccount } from './delete-linked-account';

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
    await deleteLinkedAccount(directory, context, link, 'activation-rejected');
  });
}
