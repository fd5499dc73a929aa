import { IdentityAccountCreatedV1 } from '@onboarding/contracts';
import { handlerFor } from '@onboarding/messaging';
import type { SagaMetrics } from './saga-metrics';
import { DriverHistoryEntry } from './driver-history';
import { activationRejection, loadAnnouncedDriver } from './driver-lifecycle';
import { driverStateEffect, historyEffect } from './driver-statements';
import { driverEvents } from './outgoing-events';

/**
 * The directory account exists: a PENDING driver becomes ACTIVE and `driver.activated` goes out. A driver
 * that can no longer be activated (deleted, failed, timed out) rejects the account, which identity deletes.
 * The entity decides; its new row, the history entry, the event and the inbox record are one statement
 * (`commitInOneStatement`), the driver's update guarded by the version read, as the ORM's flush would.
 */
export const onAccountCreated = (saga: Pick<SagaMetrics, 'sagaOutcome' | 'registrationActivated'>) =>
  handlerFor(IdentityAccountCreatedV1, async (event, context) => {
    const driver = await loadAnnouncedDriver(context.em, event.data.driverId);
    if (driver.status === 'ACTIVE' && driver.b2cObjectId === event.data.objectId) return;
    if (driver.status !== 'PENDING') {
      const { entry, event: rejected } = activationRejection(driver, event.data.objectId, event.id);
      await context.commitInOneStatement({
        effects: [historyEffect(context.schema, entry)],
        events: [{ event: rejected, options: context.causedBy(driver.id) }],
      });
      // Counted once the statement committed, so a retried delivery is not counted twice.
      saga.sagaOutcome('compensated', driver.status === 'DELETED' ? 'deleted' : (driver.failureReason ?? 'failed'));
      return;
    }
    const registeredAt = driver.createdAt.getTime();
    const readVersion = driver.version;
    driver.activate(event.data.objectId);
    const entry = new DriverHistoryEntry(driver, { type: 'activated', detail: `directory account ${event.data.objectId}`, messageId: event.id });
    await context.commitInOneStatement({
      effects: [driverStateEffect(context.schema, driver, readVersion), historyEffect(context.schema, entry)],
      events: [{ event: driverEvents.activated(driver), options: context.causedBy(driver.id) }],
    });
    saga.sagaOutcome('activated');
    saga.registrationActivated((Date.now() - registeredAt) / 1000);
  });
