import { LockMode } from '@mikro-orm/core';
import { IdentityDriverDataErasedV1, MailerDriverDataErasedV1, NotificationDriverDataErasedV1 } from '@onboarding/contracts';
import { PermanentMessageError, handlerFor, type MessageHandler } from '@onboarding/messaging';
import { DriverErasure } from './driver-erasure';

/**
 * A service confirmed it erased what it kept about a driver: recorded on the audit record (locked, since the
 * confirmations of several services arrive together). A confirmation for an erasure nobody asked for is parked.
 */
function onConfirmation(contract: typeof IdentityDriverDataErasedV1, service: string): MessageHandler<typeof IdentityDriverDataErasedV1> {
  return handlerFor(contract, async (event, context) => {
    const { driverId, erasedAt, removedMessages } = event.data;
    await context.commit(async (em) => {
      const erasure = await em.findOne(DriverErasure, { driverId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!erasure) throw new PermanentMessageError(`no erasure was asked for driver ${driverId}`, 'unknown-erasure');
      erasure.confirm(service, new Date(erasedAt), removedMessages);
    });
  });
}

export const onIdentityDriverDataErased = onConfirmation(IdentityDriverDataErasedV1, 'identity');
export const onMailerDriverDataErased = onConfirmation(MailerDriverDataErasedV1, 'mailer');
export const onNotificationDriverDataErased = onConfirmation(NotificationDriverDataErasedV1, 'notification');
