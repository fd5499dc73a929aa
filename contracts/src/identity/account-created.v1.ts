import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { DriverId, Timestamp } from '../fields';

export const IdentityAccountCreatedV1 = defineEvent(
  'identity.account.created',
  1,
  Type.Object(
    {
      driverId: DriverId,
      objectId: Type.String({ minLength: 1, description: 'Directory (B2C) object id of the account' }),
      provider: Type.String({ minLength: 1 }),
      createdAt: Timestamp,
    },
    { additionalProperties: true },
  ),
);
export type IdentityAccountCreatedV1 = EventData<typeof IdentityAccountCreatedV1>;
