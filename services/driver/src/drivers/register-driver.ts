import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { RegisterDriverBody } from '@onboarding/contracts';
import { writeInOneStatement, type CommittedOutboxRow } from '@onboarding/messaging';
import { AppError } from '@onboarding/service-kit';
import { Driver } from './driver';
import { DriverHistoryEntry } from './driver-history';
import { historyEffect, newDriverEffect } from './driver-statements';
import { driverEvents } from './outgoing-events';

export const SERVICE_SOURCE = 'driver';

/**
 * Registers a driver: one statement (one round trip, no unit of work) writes the PENDING driver, its first
 * history entry and the `driver.registered` event(s) to the outbox, then hands the rows it wrote to
 * `publishCommitted` (the messaging component's publisher after commit; its relay publishes whatever that could not).
 * Whether the address is free is decided by the partial unique index `driver_live_email_uq` (one PENDING or ACTIVE
 * driver per lower-cased address), not by a read first: the read could not close the race anyway, and it cost a
 * round trip (and, as `email = ?`, a scan the `lower(email)` index does not serve) per registration. The entity
 * still makes the driver (its rules); SQL only writes it.
 */
export async function registerDriver(
  em: EntityManager,
  input: RegisterDriverBody,
  correlationId: string,
  registeredVersions: readonly number[],
  actor: string | null,
  publishCommitted: (rows: readonly CommittedOutboxRow[]) => void,
): Promise<Driver> {
  const schema = em.config.get('schema') ?? 'public';
  const driver = Driver.register(input, correlationId);
  const entry = new DriverHistoryEntry(driver, { type: 'registered', actor });
  const options = { source: SERVICE_SOURCE, subject: driver.id, correlationId };
  try {
    const rows = await writeInOneStatement(em, schema, {
      // The history row references the driver inserted by the same statement: foreign keys are checked at its end.
      effects: [newDriverEffect(schema, driver), historyEffect(schema, entry)],
      events: driverEvents.registered(driver, registeredVersions).map((event) => ({ event, options })),
    });
    publishCommitted(rows);
  } catch (err) {
    // The address is held by a live driver (or a concurrent registration won it): the index lets exactly one in.
    if (err instanceof UniqueConstraintViolationException) throw emailTaken();
    throw err;
  }
  return driver;
}

function emailTaken(): AppError {
  return AppError.conflict('A driver with this email address is already registered or being registered', 'email-taken');
}
