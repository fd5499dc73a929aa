import { DriverDeletedV1 } from '@onboarding/contracts';
import { handlerFor } from '@onboarding/messaging';
import type { DirectoryProvider } from '../directory/directory';
import { AccountLink } from './account-link';
import { deleteLinkedAccount } from './delete-linked-account';

/** The driver was deleted: delete its account (if it has one yet; a later account is compensated instead). */
export function onDriverDeleted(directory: DirectoryProvider) {
  return handlerFor(DriverDeletedV1, async (event, context) => {
    const link = await context.em.findOne(AccountLink, { driverId: event.data.driverId });
    if (!link || link.isDeleted()) return;
    await deleteLinkedAccount(directory, context, link, 'driver-deleted');
  });
}
