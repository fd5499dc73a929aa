import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { DriverId, Timestamp } from '../fields';

export const IdentityAccountDeletedV1 = defineEvent(
  'identity.account.deleted',
  1,
  Type.Object(
    {
      driverId: DriverId,
      objectId: Type.String({ minLength: 1 }),
      reason: Type.Union([Type.Literal('driver-deleted'), Type.Literal('activation-rejected')]),
      deletedAt: Timestamp,
    },
    { additionalProperties: true },
  ),
);
export type IdentityAccountDeletedV1 = EventData<typeof IdentityAccountDeletedV1>;
