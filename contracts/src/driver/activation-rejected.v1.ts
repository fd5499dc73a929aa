import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { AggregateVersion, DriverId, DriverStatus, Timestamp } from '../fields';

/** A directory account was created for a driver that can no longer be activated: identity must delete it. */
export const DriverActivationRejectedV1 = defineEvent(
  'driver.activation-rejected',
  1,
  Type.Object(
    {
      driverId: DriverId,
      objectId: Type.String({ minLength: 1 }),
      status: DriverStatus,
      reason: Type.String({ minLength: 1, maxLength: 1000 }),
      rejectedAt: Timestamp,
      version: AggregateVersion,
    },
    { additionalProperties: true },
  ),
);
export type DriverActivationRejectedV1 = EventData<typeof DriverActivationRejectedV1>;
