import { Type, type Static } from '@sinclair/typebox';
import { DriverId, Timestamp } from '../fields';

export const DriverIdPathParams = Type.Object({ driverId: DriverId }, { additionalProperties: false });
export type DriverIdPathParams = Static<typeof DriverIdPathParams>;

export const AccountView = Type.Object({
  driverId: DriverId,
  objectId: Type.String(),
  provider: Type.String(),
  createdAt: Timestamp,
});
export type AccountView = Static<typeof AccountView>;
