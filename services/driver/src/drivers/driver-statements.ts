import type { SqlEffect } from '@onboarding/messaging';
import type { Driver } from './driver';
import type { DriverHistoryEntry } from './driver-history';

/**
 * The driver's rows as SQL effects for a message handler's one-statement commit (`commitInOneStatement`): the
 * entity decides (its rules, its new version), these write the result. Off the message path the ORM writes them.
 */

/**
 * Writes the state a driver's rule left it in, guarded by the version the handler read, as the ORM's version
 * check does: a driver changed since then matches no row and the whole commit fails (`StaleRowError`), retried.
 */
export function driverStateEffect(schema: string, driver: Driver, readVersion: number): SqlEffect {
  return {
    name: 'driver_state',
    sql: `update "${schema}"."driver" set "status" = ?, "b2c_object_id" = ?, "failure_reason" = ?, "version" = ?, "updated_at" = ?
      where "id" = ? and "version" = ? returning "id"`,
    params: [driver.status, driver.b2cObjectId, driver.failureReason, driver.version, driver.updatedAt, driver.id, readVersion],
    requireRows: true,
  };
}

/** Inserts one history entry of a driver. */
export function historyEffect(schema: string, entry: DriverHistoryEntry): SqlEffect {
  return {
    sql: `insert into "${schema}"."driver_history" ("driver_id", "type", "status", "detail", "message_id", "actor", "at") values (?, ?, ?, ?, ?, ?, ?)`,
    params: [entry.driver.id, entry.type, entry.status, entry.detail, entry.messageId, entry.actor, entry.at],
  };
}

/** Inserts a newly registered driver. */
export function newDriverEffect(schema: string, driver: Driver): SqlEffect {
  return {
    name: 'new_driver',
    sql: `insert into "${schema}"."driver" ("id", "first_name", "last_name", "email", "phone", "preferred_language", "status", "b2c_object_id",
      "failure_reason", "correlation_id", "version", "created_at", "updated_at") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    params: [
      driver.id,
      driver.firstName,
      driver.lastName,
      driver.email,
      driver.phone,
      driver.preferredLanguage,
      driver.status,
      driver.b2cObjectId,
      driver.failureReason,
      driver.correlationId,
      driver.version,
      driver.createdAt,
      driver.updatedAt,
    ],
  };
}
