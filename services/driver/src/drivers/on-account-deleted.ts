import { IdentityAccountDeletedV1 } from '@onboarding/contracts';
import { handlerFor } from '@onboarding/messaging';
import { DriverHistoryEntry } from './driver-history';
import { loadAnnouncedDriver } from './driver-lifecycle';

/** Identity deleted the account (driver deleted, or compensation): recorded in the driver's history. */
export const onAccountDeleted = handlerFor(IdentityAccountDeletedV1, async (event, context) => {
  await context.commit(async (em) => {
    const driver = await loadAnnouncedDriver(em, event.data.driverId);
    em.persist(
      new DriverHistoryEntry(driver, {
        type: 'account-deleted',
        detail: `directory account ${event.data.objectId} deleted (${event.data.reason})`,
        messageId: event.id,
      }),
    );
  });
});
