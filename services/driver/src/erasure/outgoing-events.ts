import { DriverErasedV1 } from '@onboarding/contracts';
import { outgoing, type OutgoingEvent } from '@onboarding/messaging';
import type { DriverErasure } from './driver-erasure';

/** The event the erasure emits: ids only, since it announces that the data is to be forgotten. */
export const erasureEvents = {
  erased(erasure: DriverErasure): OutgoingEvent {
    return outgoing(DriverErasedV1, { driverId: erasure.driverId, erasedAt: erasure.requestedAt.toISOString() });
  },
};
