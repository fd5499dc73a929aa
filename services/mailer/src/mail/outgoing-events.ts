import { MailWelcomeSentV1 } from '@onboarding/contracts';
import { outgoing, type OutgoingEvent } from '@onboarding/messaging';

/** What the mailer tells the platform it did with a mail: ids, language, time and attempts; never the address. */
export const mailEvents = {
  welcomeSent(driverId: string, messageId: string, language: string, sentAt: Date, attempts: number): OutgoingEvent {
    return outgoing(MailWelcomeSentV1, { driverId, messageId, language, sentAt: sentAt.toISOString(), attempts });
  },
};
