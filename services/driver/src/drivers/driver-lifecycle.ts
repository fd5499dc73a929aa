import { LockMode, OptimisticLockError, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { EnvelopeOptions, UpdateDriverBody } from '@onboarding/contracts';
import { PermanentMessageError, stageEvent, type OutgoingEvent } from '@onboarding/messaging';
import { AppError, inTransaction } from '@onboarding/service-kit';
import type { ForwardedCaller } from '@onboarding/service-kit';
import { Driver, DriverChangeForbidden, DriverRuleViolation } from './driver';
import { DriverHistoryEntry } from './driver-history';
import { driverEvents } from './outgoing-events';
import { SERVICE_SOURCE } from './register-driver';

function outboxOptions(driver: Driver, correlationId: string): EnvelopeOptions {
  return { source: SERVICE_SOURCE, subject: driver.id, correlationId };
}

async function loadForChange(em: EntityManager, id: string): Promise<Driver> {
  const driver = await em.findOne(Driver, id);
  if (!driver) throw AppError.notFound(`Driver ${id} does not exist`);
  return driver;
}

/**
 * For the saga's handlers: identity only reacts to drivers this service announced, so an unknown id is a
 * routing or data error, never worth a retry.
 */
export async function loadAnnouncedDriver(em: EntityManager, driverId: string): Promise<Driver> {
  const driver = await em.findOne(Driver, driverId);
  if (!driver) throw new PermanentMessageError(`unknown driver ${driverId}`, 'unknown-driver');
  return driver;
}

/** A broken driver rule as the problem the client gets (409, or 403 for a role that may not); anything else is rethrown. */
export function ruleToProblem(err: unknown): never {
  if (err instanceof DriverRuleViolation) throw AppError.conflict(err.message, err.code);
  if (err instanceof DriverChangeForbidden) throw new AppError({ status: 403, code: 'forbidden', title: 'Forbidden', detail: err.message });
  if (err instanceof OptimisticLockError) {
    throw AppError.conflict('The driver was changed by someone else; read it again and retry', 'stale-version');
  }
  if (err instanceof UniqueConstraintViolationException) {
    throw AppError.conflict('A driver with this email address is already registered or being registered', 'email-taken');
  }
  throw err;
}

/**
 * PATCH: applies a change when the client saw the current version; emits `driver.updated` with the new version.
 * The caller is the one the gateway verified: its roles decide what it may change, its subject is recorded.
 */
export async function updateDriver(
  em: EntityManager,
  id: string,
  body: UpdateDriverBody,
  correlationId: string,
  caller: ForwardedCaller,
): Promise<Driver> {
  const driver = await loadForChange(em, id);
  if (driver.version !== body.version) {
    throw AppError.conflict(`The driver is at version ${driver.version}, not ${body.version}; read it again and retry`, 'stale-version');
  }
  try {
    const { version: _expected, ...changes } = body;
    const changed = driver.update(changes, caller);
    if (changed.length === 0) return driver;
    em.persist(new DriverHistoryEntry(driver, { type: 'updated', detail: `changed ${changed.join(', ')}`, actor: caller.subject }));
    stageEvent(em, driverEvents.updated(driver, changed), outboxOptions(driver, correlationId));
    await em.flush();
  } catch (err) {
    ruleToProblem(err);
  }
  return driver;
}

/** DELETE: the driver becomes DELETED and `driver.deleted` asks identity to remove the account. */
export async function deleteDriver(em: EntityManager, id: string, correlationId: string, actor: string | null): Promise<Driver> {
  const driver = await loadForChange(em, id);
  try {
    driver.delete();
    em.persist(new DriverHistoryEntry(driver, { type: 'deleted', actor }));
    stageEvent(em, driverEvents.deleted(driver), outboxOptions(driver, correlationId));
    await em.flush();
  } catch (err) {
    ruleToProblem(err);
  }
  return driver;
}

/** Fails a driver's registration and announces it (the directory refused, or the saga timed out). */
export function failRegistration(
  em: EntityManager,
  driver: Driver,
  reason: string,
  detail: string,
  options: EnvelopeOptions,
  messageId?: string,
): void {
  const { entry, event } = registrationFailure(driver, reason, detail, messageId);
  em.persist(entry);
  stageEvent(em, event, options);
}

/** Fails the driver (its rule) and says what to write: the history entry and `driver.registration-failed`. */
export function registrationFailure(
  driver: Driver,
  reason: string,
  detail: string,
  messageId?: string,
): { entry: DriverHistoryEntry; event: OutgoingEvent } {
  driver.fail(reason);
  return {
    entry: new DriverHistoryEntry(driver, { type: 'registration-failed', detail, messageId }),
    event: driverEvents.registrationFailed(driver),
  };
}

/** An account exists for a driver that can no longer be activated: ask identity to delete it (compensation). */
export function activationRejection(driver: Driver, objectId: string, messageId: string): { entry: DriverHistoryEntry; event: OutgoingEvent } {
  const reason =
    driver.status === 'DELETED'
      ? 'driver was deleted before the account existed'
      : `driver is ${driver.status}${driver.failureReason ? ` (${driver.failureReason})` : ''}`;
  return {
    entry: new DriverHistoryEntry(driver, {
      type: 'activation-rejected',
      detail: `account ${objectId} arrived but ${reason}; asking identity to delete it`,
      messageId,
    }),
    event: driverEvents.activationRejected(driver, objectId, reason),
  };
}

/**
 * Fails every driver PENDING for longer than the deadline, a batch at a time. Rows are claimed with
 * FOR UPDATE SKIP LOCKED, so several driver instances can sweep side by side.
 */
export async function expireOverdueRegistrations(em: EntityManager, deadlineMs: number, batchSize = 100): Promise<number> {
  return inTransaction(em, async (tx) => {
    const overdue = await tx.find(
      Driver,
      { status: 'PENDING', createdAt: { $lt: new Date(Date.now() - deadlineMs) } },
      { lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE, limit: batchSize, orderBy: { createdAt: 'asc' } },
    );
    for (const driver of overdue) {
      failRegistration(tx, driver, Driver.TIMEOUT_REASON, `still PENDING after ${deadlineMs} ms`, {
        source: SERVICE_SOURCE,
        subject: driver.id,
        correlationId: driver.correlationId ?? driver.id,
      });
    }
    return overdue.length;
  });
}
