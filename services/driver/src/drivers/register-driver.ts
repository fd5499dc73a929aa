import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { RegisterDriverBody } from '@onboarding/contracts';
import { stageEvent } from '@onboarding/messaging';
import { AppError } from '@onboarding/service-kit';
import { Driver } from './driver';
import { DriverHistoryEntry } from './driver-history';
import { driverEvents } from './outgoing-events';

export const SERVICE_SOURCE = 'driver';

/**
 * Registers a driver: one transaction writes the PENDING driver, its first history entry and the
 * `driver.registered` event(s) to the outbox. Nothing is published here; the relay does that after commit.
 */
export async function registerDriver(
  em: EntityManager,
  input: RegisterDriverBody,
  correlationId: string,
  registeredVersions: readonly number[],
  actor: string | null,
): Promise<Driver> {
  const email = Driver.normaliseEmail(input.email);
  const holder = await em.findOne(Driver, { email, status: { $in: [...Driver.CLAIMING_STATUSES] } });
  if (holder) throw emailTaken();

  const driver = Driver.register(input, correlationId);
  em.persist(driver);
  em.persist(new DriverHistoryEntry(driver, { type: 'registered', actor }));
  for (const event of driverEvents.registered(driver, registeredVersions)) {
    stageEvent(em, event, { source: SERVICE_SOURCE, subject: driver.id, correlationId });
  }
  try {
    await em.flush();
  } catch (err) {
    // Two registrations raced past the check above; the partial unique index lets exactly one win.
    if (err instanceof UniqueConstraintViolationException) throw emailTaken();
    throw err;
  }
  return driver;
}

function emailTaken(): AppError {
  return AppError.conflict('A driver with this email address is already registered or being registered', 'email-taken');
}
