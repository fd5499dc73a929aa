import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { AggregateVersion, DriverId, Timestamp } from '../fields';

export const DriverDeletedV1 = defineEvent(
  'driver.deleted',
  1,
  Type.Object({ driverId: DriverId, deletedAt: Timestamp, version: AggregateVersion }, { additionalProperties: true }),
);
export type DriverDeletedV1 = EventData<typeof DriverDeletedV1>;
