import { LockMode } from '@mikro-orm/core';
import {
  DriverActivationRejectedV1,
  DriverDeletedV1,
  DriverUpdatedV1,
} from '@onboarding/contracts';
import { PermanentMessageError, TransientMessageError, handlerFor, stageEvent } from '@onboarding/messaging';
import { DirectoryRefusal, DirectoryUnavailable, type DirectoryProvider } from '../directory/directory';
import { AccountLink } from './account-link';
import { identityEvents } from './outgoing-events';

/** Directory failures as the consumer understands them: refusals are final, unavailability is retried. */
async function directoryCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof DirectoryRefusal) throw new PermanentMessageError(err.message, err.code);
    if (err instanceof DirectoryUnavailable) throw new TransientMessageError(err.message, err.retryAfterMs);
    throw err;
  }
}

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
