import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { AggregateVersion, DriverId, Email, Language, PersonName, Phone, Timestamp } from '../fields';

/**
 * `preferredLanguage` was added inside v1 (optional, so additive): the mailer writes the welcome mail in it
 * instead of learning the language from `driver.registered`. A producer from before the addition leaves it
 * out, and consumers then assume the default language.
 */
export const DriverActivatedV1 = defineEvent(
  'driver.activated',
  1,
  Type.Object(
    {
      driverId: DriverId,
      b2cObjectId: Type.String({ minLength: 1 }),
      firstName: PersonName,
      lastName: PersonName,
      email: Email,
      phone: Phone,
      preferredLanguage: Type.Optional(Language),
      activatedAt: Timestamp,
      version: AggregateVersion,
    },
    { additionalProperties: true },
  ),
);
export type DriverActivatedV1 = EventData<typeof DriverActivatedV1>;
