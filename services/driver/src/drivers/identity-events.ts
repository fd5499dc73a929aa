import type { EntityManager } from '@mikro-orm/core';
import {
  IdentityAccountCreatedV1,
  IdentityAccountCreationFailedV1,
  IdentityAccountDeletedV1,
  IdentityAccountUpdatedV1,
} from '@onboarding/contracts';
import { PermanentMessageError, handlerFor, stageEvent, type MessageHandler } from '@onboarding/messaging';
import type { SagaMetrics as SagaRegistry } from './saga-metrics';
import { Driver } from './driver';
import { driverEvents } from './driver-events';
import { DriverHistoryEntry } from './driver-history';
import { failRegistration, rejectActivation } from './driver-lifecycle';

async function loadDriver(em: EntityManager, driverId: string): Promise<Driver> {
  const driver = await em.findOne(Driver, driverId);
  // Identity only reacts to drivers this service announced; an unknown id is a routing or data error.
  if (!driver) throw new PermanentMessageError(`unknown driver ${driverId}`, 'unknown-driver');
  return driver;
}

export type SagaMetrics = Pick<SagaRegistry, 'sagaOutcome' | 'registrationActivated'>;

/**
 * The directory account exists: a PENDING driver becomes ACTIVE and `driver.activated` goes out. A driver
 * that can no longer be activated (deleted, failed, timed out) rejects the account, which identity deletes.
 */
const onAccountCreated = (saga: SagaMetrics) => handlerFor(IdentityAccountCreatedV1, async (event, context) => {
  let outcome: (() => void) | undefined;
  await context.commit(async (em) => {
    outcome = undefined;
    const driver = await loadDriver(em, event.data.driverId);
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
    em.persist(
      new DriverHistoryEntry(driver, { type: 'activated', detail: `directory account ${event.data.objectId}`, messageId: event.id }),
    );
    stageEvent(em, driverEvents.activated(driver), context.causedBy(driver.id));
  });
  outcome?.(); // counted once the transaction committed, so a retried delivery is not counted twice
});

/** The directory refused the account: a PENDING driver FAILS with the directory's reason. */
const onAccountCreationFailed = (saga: SagaMetrics) => handlerFor(IdentityAccountCreationFailedV1, async (event, context) => {
  let failed = false;
  await context.commit(async (em) => {
    const driver = await loadDriver(em, event.data.driverId);
    failed = driver.status === 'PENDING';
    if (!failed) return;
    failRegistration(em, driver, event.data.reason, `${event.data.code}: ${event.data.reason}`, context.causedBy(driver.id), event.id);
  });
  if (failed) saga.sagaOutcome('failed', event.data.code);
});

/** Identity applied an update to the account: recorded in the driver's history. */
const onAccountUpdated = handlerFor(IdentityAccountUpdatedV1, async (event, context) => {
  await context.commit(async (em) => {
    const driver = await loadDriver(em, event.data.driverId);
    em.persist(
      new DriverHistoryEntry(driver, {
        type: 'account-updated',
        detail: `directory account ${event.data.objectId} now at driver version ${event.data.driverVersion}`,
        messageId: event.id,
      }),
    );
  });
});

/** Identity deleted the account (driver deleted, or compensation): recorded in the driver's history. */
const onAccountDeleted = handlerFor(IdentityAccountDeletedV1, async (event, context) => {
  await context.commit(async (em) => {
    const driver = await loadDriver(em, event.data.driverId);
    em.persist(
      new DriverHistoryEntry(driver, {
        type: 'account-deleted',
        detail: `directory account ${event.data.objectId} deleted (${event.data.reason})`,
        messageId: event.id,
      }),
    );
  });
});

export function identityEventHandlers(saga: SagaMetrics): MessageHandler[] {
  return [onAccountCreated(saga), onAccountCreationFailed(saga), onAccountUpdated, onAccountDeleted];
}
