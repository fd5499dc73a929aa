import { IdentityAccountUpdatedV1 } from '@onboarding/contracts';
import { handlerFor } from '@onboarding/messaging';
import { DriverHistoryEntry } from './driver-history';
import { loadAnnouncedDriver } from './driver-lifecycle';

/** Identity applied an update to the account: recorded in the driver's history. */
export const onAccountUpdated = handlerFor(IdentityAccountUpdatedV1, async (event, context) => {
  await context.commit(async (em) => {
    const driver = await loadAnnouncedDriver(em, event.data.driverId);
    em.persist(
      new DriverHistoryEntry(driver, {
        type: 'account-updated',
        detail: `directory account ${event.data.objectId} now at driver version ${event.data.driverVersion}`,
        messageId: event.id,
      }),
    );
  });
});
