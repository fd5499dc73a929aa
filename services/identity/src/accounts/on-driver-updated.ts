import { LockMode } from '@mikro-orm/core';
import { DriverUpdatedV1 } from '@onboarding/contracts';
import { PermanentMessageError, handlerFor, stageEvent } from '@onboarding/messaging';
import type { DirectoryProvider } from '../directory/directory';
import { AccountLink } from './account-link';
import { directoryCall } from './directory-call';
import { identityEvents } from './outgoing-events';

/**
 * Applies a driver update to the directory account, newest version wins. The link row stays locked while the
 * directory is written, so two updates of one driver can never reach the directory out of order (an older one
 * overwriting a newer one); the cost is a transaction held across one directory call, for updates only.
 */
export function onDriverUpdated(directory: DirectoryProvider) {
  return handlerFor(DriverUpdatedV1, async (event, context) => {
    const { driverId, version } = event.data;
    await context.commit(async (em) => {
      const link = await em.findOne(AccountLink, { driverId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!link) throw new PermanentMessageError(`no directory account is linked to driver ${driverId}`, 'no-account');
      if (!link.acceptsVersion(version)) return; // stale, duplicate, or the account is gone
      await directoryCall(() =>
        directory.updateAccount(link.objectId, {
          givenName: event.data.firstName,
          surname: event.data.lastName,
          email: event.data.email,
          phone: event.data.phone,
        }),
      );
      link.driverVersion = version;
      stageEvent(em, identityEvents.updated(driverId, link.objectId, version), context.causedBy(driverId));
    });
  });
}
