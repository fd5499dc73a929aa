import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { AggregateVersion, DriverId, PersonName, Timestamp } from '../fields';

export const DriverRegistrationFailedV1 = defineEvent(
  'driver.registration-failed',
  1,
  Type.Object(
    {
      driverId: DriverId,
      firstName: PersonName,
      lastName: PersonName,
      reason: Type.String({ minLength: 1, maxLength: 1000 }),
      failedAt: Timestamp,
      version: AggregateVersion,
    },
    { additionalProperties: true },
  ),
);
export type DriverRegistrationFailedV1 = EventData<typeof DriverRegistrationFailedV1>;
