import { IdentityDriverDataErasedV1 } from '@onboarding/contracts';
import { outgoing, type OutgoingEvent } from '@onboarding/messaging';

/** Identity's confirmation of an erasure: ids and a count only. */
export const erasureEvents = {
  dataErased(driverId: string, removedMessages: number, at = new Date()): OutgoingEvent {
    return outgoing(IdentityDriverDataErasedV1, { driverId, erasedAt: at.toISOString(), removedMessages });
  },
};
