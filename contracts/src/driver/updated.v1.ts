import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { AggregateVersion, DriverId, Email, PersonName, Phone, Timestamp } from '../fields';

/** The driver's contact details after a change; `version` orders updates (older ones are ignored). */
export const DriverUpdatedV1 = defineEvent(
  'driver.updated',
  1,
  Type.Object(
    {
      driverId: DriverId,
      firstName: PersonName,
      lastName: PersonName,
      email: Email,
      phone: Phone,
      changed: Type.Array(Type.String(), { description: 'Names of the fields this update changed' }),
      updatedAt: Timestamp,
      version: AggregateVersion,
    },
    { additionalProperties: true },
  ),
);
export type DriverUpdatedV1 = EventData<typeof DriverUpdatedV1>;
