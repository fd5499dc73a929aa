import { Type } from '@sinclair/typebox';
import { defineEvent, type EventData } from '../envelope';
import { DriverId, Timestamp } from '../fields';

/**
 * An admin asked to erase a driver's personal data, and the driver service has erased its own: every service
 * that keeps anything about the driver erases it and confirms. Ids only: the event must not carry what it
 * asks to be forgotten.
 */
export const DriverErasedV1 = defineEvent(
  'driver.erased',
  1,
  Type.Object({ driverId: DriverId, erasedAt: Timestamp }, { additionalProperties: true }),
);
export type DriverErasedV1 = EventData<typeof DriverErasedV1>;
