import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { AggregateVersion, DriverId, Timestamp } from '../fields';

export const IdentityAccountUpdatedV1 = defineEvent(
  'identity.account.updated',
  1,
  Type.Object(
    {
      driverId: DriverId,
      objectId: Type.String({ minLength: 1 }),
      driverVersion: AggregateVersion,
      updatedAt: Timestamp,
    },
    { additionalProperties: true },
  ),
);
export type IdentityAccountUpdatedV1 = EventData<typeof IdentityAccountUpdatedV1>;
