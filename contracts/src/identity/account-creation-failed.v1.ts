import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { DriverId, Timestamp } from '../fields';

export const IdentityAccountCreationFailedV1 = defineEvent(
  'identity.account.creation-failed',
  1,
  Type.Object(
    {
      driverId: DriverId,
      reason: Type.String({ minLength: 1, maxLength: 1000 }),
      code: Type.String({ minLength: 1, description: 'Machine-readable cause, e.g. account-exists' }),
      failedAt: Timestamp,
    },
    { additionalProperties: true },
  ),
);
export type IdentityAccountCreationFailedV1 = EventData<typeof IdentityAccountCreationFailedV1>;
