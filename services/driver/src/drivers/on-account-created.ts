import { IdentityAccountCreatedV1 } from '@onboarding/contracts';
import { handlerFor, stageEvent } from '@onboarding/messaging';
import type { SagaMetrics } from './saga-metrics';
import { DriverHistoryEntry } from './driver-history';
import { loadAnnouncedDriver, rejectActivation } from './driver-lifecycle';
import { driverEvents } from './outgoing-events';

/**
 * The directory account exists: a PENDING driver becomes ACTIVE and `driver.activated` goes out. A driver
 * that can no longer be activated (deleted, failed, timed out) rejects the account, which identity deletes.
 */
export const onAccountCreated = (saga: Pick<SagaMetrics, 'sagaOutcome' | 'registrationActivated'>) =>
  handlerFor(IdentityAccountCreatedV1, async (event, context) => {
    let outcome: (() => void) | undefined;
    await context.commit(async (em) => {
      outcome = undefined;
      const driver = await loadAnnouncedDriver(em, event.data.driverId);
      if (driver.status === 'ACTIVE' && driver.b2cObjectId === event.data.objectId) return;
      if (driver.status !== 'PENDING') {
        rejectActivation(em, driver, event.data.objectId, context.causedBy(driver.id), event.id);
        outcome = () => saga.sagaOutcome('compensated', driver.status === 'DELETED' ? 'deleted' : (driver.failureReason ?? 'failed'));
        return;
      }
      const registeredAt = driver.createdAt.getTime();
      outcome = () => {
        saga.sagaOutcome('activated');
        saga.registrationActivated((Date.now() - registeredAt) / 1000);
      };
      driver.activate(event.data.objectId);
      em.persist(new DriverHistoryEntry(driver, { type: 'activated', detail: `directory account ${event.data.objectId}`, messageId: event.id }));
      stageEvent(em, driverEvents.activated(driver), context.causedBy(driver.id));
    });
    outcome?.(); // counted once the transaction committed, so a retried delivery is not counted twice
  });
