import { DriverErasedV1, ERASURE_EVENT_TYPES } from '@onboarding/contracts';
import { forgetParkedPersonalData, handlerFor, removeMessagesNaming, type WaitingMessages } from '@onboarding/messaging';
import { recordAuditCopyWith } from './on-every-event';

/**
 * Operations keeps no personal data in its tables (see `auditPayload`), but a message waiting in its own retry
 * queues, or the personal data kept apart in its parked messages for a replay, is the event as published. On an
 * erasure the waiting messages leave the queues like everyone else's (first, harmless to repeat), then the parked
 * personal data is forgotten in the transaction that audits the erasure like any event. Operations
 * does not confirm the erasure: it is an auditor, not one of the consumers the erasure saga waits for.
 */
export function onDriverErased(waiting: WaitingMessages) {
  return handlerFor(DriverErasedV1, async (event, context) => {
    await removeMessagesNaming({ ...waiting, naming: event.data.driverId, sparingTypes: ERASURE_EVENT_TYPES });
    await recordAuditCopyWith(DriverErasedV1, event, context, (em) => forgetParkedPersonalData(em, waiting.schema, event.data.driverId));
  });
}
