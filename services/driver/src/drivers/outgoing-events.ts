import {
  DriverActivatedV1,
  DriverActivationRejectedV1,
  DriverDeletedV1,
  DriverRegisteredV1,
  DriverRegisteredV2,
  DriverRegistrationFailedV1,
  DriverUpdatedV1,
} from '@onboarding/contracts';
import { outgoing, type OutgoingEvent } from '@onboarding/messaging';
import type { Driver } from './driver';

/**
 * The events the driver service emits, built from the aggregate. The use cases stage exactly these in the
 * outbox, and the Pact provider tests verify exactly these against the consumers' pacts.
 */
export const driverEvents = {
  /** Both major versions of the registration, published side by side while consumers migrate (see `PUBLISH_REGISTERED_VERSIONS`). */
  registered(driver: Driver, versions: readonly number[]): OutgoingEvent[] {
    const common = {
      driverId: driver.id,
      firstName: driver.firstName,
      lastName: driver.lastName,
      email: driver.email,
      phone: driver.phone,
      registeredAt: driver.createdAt.toISOString(),
      version: driver.version,
    };
    const events: OutgoingEvent[] = [];
    if (versions.includes(2)) events.push(outgoing(DriverRegisteredV2, { ...common, preferredLanguage: driver.preferredLanguage }));
    if (versions.includes(1)) events.push(outgoing(DriverRegisteredV1, common));
    return events;
  },

  activated(driver: Driver): OutgoingEvent {
    return outgoing(DriverActivatedV1, {
      driverId: driver.id,
      b2cObjectId: driver.b2cObjectId ?? '',
      firstName: driver.firstName,
      lastName: driver.lastName,
      email: driver.email,
      phone: driver.phone,
      preferredLanguage: driver.preferredLanguage,
      activatedAt: driver.updatedAt.toISOString(),
      version: driver.version,
    });
  },

  registrationFailed(driver: Driver): OutgoingEvent {
    return outgoing(DriverRegistrationFailedV1, {
      driverId: driver.id,
      firstName: driver.firstName,
      lastName: driver.lastName,
      reason: driver.failureReason ?? 'unknown',
      failedAt: driver.updatedAt.toISOString(),
      version: driver.version,
    });
  },

  updated(driver: Driver, changed: string[]): OutgoingEvent {
    return outgoing(DriverUpdatedV1, {
      driverId: driver.id,
      firstName: driver.firstName,
      lastName: driver.lastName,
      email: driver.email,
      phone: driver.phone,
      changed,
      updatedAt: driver.updatedAt.toISOString(),
      version: driver.version,
    });
  },

  deleted(driver: Driver): OutgoingEvent {
    return outgoing(DriverDeletedV1, { driverId: driver.id, deletedAt: driver.updatedAt.toISOString(), version: driver.version });
  },

  activationRejected(driver: Driver, objectId: string, reason: string): OutgoingEvent {
    return outgoing(DriverActivationRejectedV1, {
      driverId: driver.id,
      objectId,
      status: driver.status,
      reason,
      rejectedAt: new Date().toISOString(),
      version: driver.version,
    });
  },
};
