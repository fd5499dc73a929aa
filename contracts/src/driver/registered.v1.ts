import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { AggregateVersion, DriverId, Email, PersonName, Phone, Timestamp } from '../fields';

export const DriverRegisteredV1 = defineEvent(
  'driver.registered',
  1,
  Type.Object(
    {
      driverId: DriverId,
      firstName: PersonName,
      lastName: PersonName,
      email: Email,
      phone: Phone,
      registeredAt: Timestamp,
      version: AggregateVersion,
    },
    { additionalProperties: true },
  ),
);
export type DriverRegisteredV1 = EventData<typeof DriverRegisteredV1>;
