import { DriverErasedV1, ERASURE_EVENT_TYPES } from '@onboarding/contracts';
import {
  forgetParkedPersonalData,
  forgetOutboxSubject,
  handlerFor,
  removeMessagesNaming,
  stageEvent,
  type WaitingMessages,
} from '@onboarding/messaging';
import { SentMail } from '../mail/sent-mail';
import { WELCOME_TEMPLATE } from '../mail/welcome-mail';
import { erasureEvents } from './outgoing-events';

/**
 * Erases what the mailer keeps about a driver, then confirms: the messages naming the driver leave its retry
 * and parking queues (first, and harmless to repeat), then in one transaction with the inbox record every
 * mail-log row of the driver forgets the address and becomes ERASED — a welcome mail never sent gets such a row
 * too, so an activation still on its way sends nothing — and the mailer's outbox rows about the driver go.
 */
export function onDriverErased(waiting: WaitingMessages) {
  return handlerFor(DriverErasedV1, async (event, context) => {
    const { driverId } = event.data;
    const removed = await removeMessagesNaming({ ...waiting, naming: driverId, sparingTypes: ERASURE_EVENT_TYPES });
    await context.commit(async (em) => {
      // Parked messages about the driver keep their scrubbed rows but lose the personal data kept for a replay.
      const forgotten = await forgetParkedPersonalData(em, waiting.schema, driverId);
      const mails = await em.find(SentMail, { driverId });
      for (const mail of mails) mail.erase();
      if (!mails.some((mail) => mail.template === WELCOME_TEMPLATE)) em.persist(SentMail.erasedBeforeSending(driverId, WELCOME_TEMPLATE));
      await forgetOutboxSubject(em, driverId);
      stageEvent(em, erasureEvents.dataErased(driverId, removed + forgotten), context.causedBy(driverId));
    });
  });
}
