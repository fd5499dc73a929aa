import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { AggregateVersion, DriverId, Email, PersonName, Phone, Timestamp } from '../fields';

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
      activatedAt: Timestamp,
      version: AggregateVersion,
    },
    { additionalProperties: true },
  ),
);
export type DriverActivatedV1 = EventData<typeof DriverActivatedV1>;
