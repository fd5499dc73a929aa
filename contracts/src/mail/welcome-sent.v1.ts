import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { DriverId, Timestamp } from '../fields';

/**
 * The mailer handed a driver's welcome mail to the SMTP server. Ids and times only: no address (the mail log
 * keeps it until erasure), so whoever audits the saga learns that and when, never to whom.
 */
export const MailWelcomeSentV1 = defineEvent(
  'mail.welcome-sent',
  1,
  Type.Object(
    {
      driverId: DriverId,
      /** The mail's RFC 5322 Message-ID (`<welcome.<driverId>@onboarding.local>`): what receivers deduplicate on. */
      messageId: Type.String({ minLength: 1, maxLength: 998 }),
      /** The language it was written in. */
      language: Type.String({ minLength: 2, maxLength: 8 }),
      sentAt: Timestamp,
      /** How many sends the mailer claimed for this mail, this one included (more than 1 after a failed try). */
      attempts: Type.Integer({ minimum: 1 }),
    },
    { additionalProperties: true },
  ),
);
export type MailWelcomeSentV1 = EventData<typeof MailWelcomeSentV1>;
