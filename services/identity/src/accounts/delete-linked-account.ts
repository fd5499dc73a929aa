import type { MessageContext } from '@onboarding/messaging';
import { stageEvent } from '@onboarding/messaging';
import type { DirectoryProvider } from '../directory/directory';
import { AccountLink } from './account-link';
import { directoryCall } from './directory-call';
import { identityEvents } from './outgoing-events';

/**
 * Deletes the directory account linked to a driver, then marks the link deleted and announces it in one
 * transaction. The directory call comes first and is idempotent (an account already gone counts as deleted),
 * so a retry after a crash between the two finishes the job; a link deleted meanwhile announces nothing twice.
 */
export async function deleteLinkedAccount(
  directory: DirectoryProvider,
  context: MessageContext,
  link: AccountLink,
  reason: Parameters<typeof identityEvents.deleted>[2],
): Promise<void> {
  await directoryCall(() => directory.deleteAccount(link.objectId));
  await context.commit(async (em) => {
    const current = await em.findOneOrFail(AccountLink, { driverId: link.driverId });
    if (current.isDeleted()) return;
    current.markDeleted();
    stageEvent(em, identityEvents.deleted(current.driverId, current.objectId, reason, current.deletedAt!), context.causedBy(current.driverId));
  });
}
