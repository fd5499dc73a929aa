import { Type, type Static } from '@sinclair/typebox';
import { DriverId, Timestamp } from '../fields';

/**
 * The audit record of one driver's erasure: who asked and when, and when each service confirmed. It holds no
 * personal data (ids, the requester's token subject, times), so it outlives the data it records the removal of.
 */
export const ErasureView = Type.Object({
  driverId: DriverId,
  status: Type.Union([Type.Literal('IN_PROGRESS'), Type.Literal('COMPLETE')]),
  /** The verified token subject of the admin who asked. */
  requestedBy: Type.Union([Type.String(), Type.Null()]),
  requestedAt: Timestamp,
  /** When the last service confirmed; absent while one has not. */
  completedAt: Type.Optional(Timestamp),
  services: Type.Array(
    Type.Object({
      service: Type.String(),
      /** When the service confirmed it erased what it kept; null until then. */
      erasedAt: Type.Union([Timestamp, Type.Null()]),
      /** How many messages naming the driver it removed from its retry and parking queues (the unroutable queue: driver). */
      removedMessages: Type.Optional(Type.Integer({ minimum: 0 })),
    }),
  ),
});
export type ErasureView = Static<typeof ErasureView>;
