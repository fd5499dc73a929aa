import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { DriverRegisteredV1, type RegisterDriverBody } from '@onboarding/contracts';
import { addToOutbox } from '@onboarding/messaging';
import { AppError } from '@onboarding/service-kit';
import { Driver } from './driver';
import { DriverHistoryEntry } from './driver-history';

export const SERVICE_SOURCE = 'driver';

/**
 * Registers a driver: one transaction writes the PENDING driver, its first history entry and the
 * `driver.registered` event to the outbox. Nothing is published here; the relay does that after commit.
 */
export async function registerDriver(
  em: EntityManager,
  input: RegisterDriverBody,
  correlationId: string,
): Promise<Driver> {
  const email = Driver.normaliseEmail(input.email);
  const holder = await em.findOne(Driver, { email, status: { $in: [...Driver.CLAIMING_STATUSES] } });
  if (holder) throw emailTaken();

  const driver = Driver.register(input, correlationId);
  em.persist(driver);
  em.persist(new DriverHistoryEntry(driver, { type: 'registered' }));
  addToOutbox(
    em,
    DriverRegisteredV1,
    {
      driverId: driver.id,
      firstName: driver.firstName,
      lastName: driver.lastName,
      email: driver.email,
      phone: driver.phone,
      registeredAt: driver.createdAt.toISOString(),
      version: driver.version,
    },
    { source: SERVICE_SOURCE, subject: driver.id, correlationId },
  );
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
