import { Type, type Static } from '@sinclair/typebox';
import { DriverId, Timestamp } from '../fields';
import { Page } from './pagination';

export const NotificationType = Type.Union([Type.Literal('driver.activated'), Type.Literal('driver.registration-failed')]);

export const NotificationView = Type.Object({
  id: Type.String(),
  type: NotificationType,
  driverId: DriverId,
  recipient: Type.String(),
  message: Type.String(),
  createdAt: Timestamp,
  readAt: Type.Union([Timestamp, Type.Null()]),
});
export type NotificationView = Static<typeof NotificationView>;

export const NotificationPage = Page(NotificationView);
export type NotificationPage = Static<typeof NotificationPage>;
