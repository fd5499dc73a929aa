import type { EntityManager } from '@mikro-orm/core';
import {
  DriverActivatedV1,
  DriverRegistrationFailedV1,
  IdentityAccountCreatedV1,
  IdentityAccountCreationFailedV1,
} from '@onboarding/contracts';
import { PermanentMessageError, addToOutbox, handlerFor, type MessageHandler } from '@onboarding/messaging';
import { Driver } from './driver';
import { DriverHistoryEntry } from './driver-history';

async function loadDriver(em: EntityManager, driverId: string): Promise<Driver> {
  const driver = await em.findOne(Driver, driverId);
  // Identity only reacts to drivers this service announced; an unknown id is a routing or data error.
  if (!driver) throw new PermanentMessageError(`unknown driver ${driverId}`, 'unknown-driver');
  return driver;
}

/** The directory account exists: a PENDING driver becomes ACTIVE and `driver.activated` goes out. */
export const onAccountCreated = handlerFor(IdentityAccountCreatedV1, async (event, context) => {
  await context.commit(async (em) => {
    const driver = await loadDriver(em, event.data.driverId);
    if (driver.status === 'ACTIVE' && driver.b2cObjectId === event.data.objectId) return;
    if (driver.status !== 'PENDING') {
      em.persist(
        new DriverHistoryEntry(driver, {
          type: 'activation-rejected',
          detail: `account ${event.data.objectId} arrived while the driver was ${driver.status}`,
          messageId: event.id,
        }),
      );
      return;
    }
    driver.activate(event.data.objectId);
    em.persist(
      new DriverHistoryEntry(driver, {
          type: 'activated',
        detail: `directory account ${event.data.objectId}`,
        messageId: event.id,
      }),
    );
    addToOutbox(
      em,
      DriverActivatedV1,
      {
        driverId: driver.id,
        b2cObjectId: event.data.objectId,
        firstName: driver.firstName,
        lastName: driver.lastName,
        email: driver.email,
        phone: driver.phone,
        activatedAt: driver.updatedAt.toISOString(),
        version: driver.version,
      },
      context.causedBy(driver.id),
    );
  });
});

/** The directory refused the account: the driver FAILS with the directory's reason. */
export const onAccountCreationFailed = handlerFor(IdentityAccountCreationFailedV1, async (event, context) => {
  await context.commit(async (em) => {
    const driver = await loadDriver(em, event.data.driverId);
    if (driver.status !== 'PENDING') return;
    driver.fail(event.data.reason);
    em.persist(
      new DriverHistoryEntry(driver, {
          type: 'registration-failed',
        detail: `${event.data.code}: ${event.data.reason}`,
        messageId: event.id,
      }),
    );
    addToOutbox(
      em,
      DriverRegistrationFailedV1,
      {
        driverId: driver.id,
        firstName: driver.firstName,
        lastName: driver.lastName,
        reason: event.data.reason,
        failedAt: driver.updatedAt.toISOString(),
        version: driver.version,
      },
      context.causedBy(driver.id),
    );
  });
});

export const identityEventHandlers: MessageHandler[] = [onAccountCreated, onAccountCreationFailed];
