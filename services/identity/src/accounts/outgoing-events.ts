import {
  IdentityAccountCreatedV1,
  IdentityAccountCreationFailedV1,
  IdentityAccountDeletedV1,
  IdentityAccountUpdatedV1,
  type IdentityAccountDeletedV1 as Deleted,
} from '@onboarding/contracts';
import { outgoing, type OutgoingEvent } from '@onboarding/messaging';

/**
 * The events identity emits. Its handlers stage exactly these in the outbox, and its Pact provider test
 * verifies exactly these against the driver service's pact.
 */
export const identityEvents = {
  created(driverId: string, objectId: string, provider: string): OutgoingEvent {
    return outgoing(IdentityAccountCreatedV1, { driverId, objectId, provider, createdAt: new Date().toISOString() });
  },
  creationFailed(driverId: string, code: string, reason: string): OutgoingEvent {
    return outgoing(IdentityAccountCreationFailedV1, { driverId, code, reason, failedAt: new Date().toISOString() });
  },
  updated(driverId: string, objectId: string, driverVersion: number): OutgoingEvent {
    return outgoing(IdentityAccountUpdatedV1, { driverId, objectId, driverVersion, updatedAt: new Date().toISOString() });
  },
  deleted(driverId: string, objectId: string, reason: Deleted['reason'], at = new Date()): OutgoingEvent {
    return outgoing(IdentityAccountDeletedV1, { driverId, objectId, reason, deletedAt: at.toISOString() });
  },
};
