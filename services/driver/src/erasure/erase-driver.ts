import { LockMode, type EntityManager } from '@mikro-orm/core';
import { eventFlow, DriverErasedV1 } from '@onboarding/contracts';
import { forgetOutboxSubject, stageEvent } from '@onboarding/messaging';
import { AppError } from '@onboarding/service-kit';
import { Driver } from '../drivers/driver';
import { DriverHistoryEntry } from '../drivers/driver-history';
import { ruleToProblem } from '../drivers/driver-lifecycle';
import { SERVICE_SOURCE } from '../drivers/register-driver';
import { DriverErasure, type ErasureRequester } from './driver-erasure';
import { erasureEvents } from './outgoing-events';

/** The services that must confirm an erasure: every consumer of `driver.erased` in the platform's event flow. */
export const ERASING_SERVICES: readonly string[] = eventFlow[DriverErasedV1.routingKey]?.consumers ?? [];

/**
 * Erases a driver's personal data held by this service and asks every other service to erase theirs, in one
 * transaction: the driver row and its history are deleted, the outbox rows about the driver (their payloads
 * carry its name, address and phone) are deleted, the audit record is written and `driver.erased` is staged.
 * Asking again returns the existing record and emits nothing. Returns the record and whether this call made it.
 */
export async function eraseDriver(
  em: EntityManager,
  driverId: string,
  requester: ErasureRequester,
  correlationId: string,
): Promise<{ erasure: DriverErasure; created: boolean }> {
  try {
    DriverErasure.authorise(requester);
    return await em.transactional(async (tx) => {
      const existing = await tx.findOne(DriverErasure, { driverId });
      if (existing) return { erasure: existing, created: false };
      // Locked, so a saga step committing for this driver meanwhile waits and then finds it gone.
      const driver = await tx.findOne(Driver, driverId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!driver) throw AppError.notFound(`Driver ${driverId} does not exist`);
      const erasure = DriverErasure.request(driver, requester, ERASING_SERVICES);
      await tx.nativeDelete(DriverHistoryEntry, { driver: driver.id });
      await forgetOutboxSubject(tx, driver.id);
      tx.remove(driver);
      tx.persist(erasure);
      stageEvent(tx, erasureEvents.erased(erasure), { source: SERVICE_SOURCE, subject: driver.id, correlationId });
      return { erasure, created: true };
    });
  } catch (err) {
    return ruleToProblem(err);
  }
}
