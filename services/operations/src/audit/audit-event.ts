import { EntitySchema } from '@mikro-orm/core';

/**
 * The audit copy of one event, as operations received it: who published it (the publisher the broker verified),
 * when it happened and arrived, the saga it belongs to, its trace, and a payload stripped to ids, statuses,
 * reasons, counts and times (see `auditPayload`). The event id is the key: one row per event, however often it
 * is delivered (the inbox already makes a redelivery a no-op; the key says so in the table too).
 */
export class AuditEvent {
  constructor(
    public eventId: string,
    public type: string,
    public version: number,
    public sourceService: string,
    public correlationId: string,
    public causationId: string | null,
    public subject: string,
    /** The driver the event is about (`data.driverId`), when it names one. */
    public driverId: string | null,
    public occurredAt: Date,
    public receivedAt: Date,
    public traceId: string | null,
    /** The delivery attempt at which operations stored it (more than 1 after a retry of its own). */
    public deliveryAttempt: number,
    public payload: Record<string, unknown>,
  ) {}
}

export const AuditEventSchema = new EntitySchema<AuditEvent>({
  class: AuditEvent,
  tableName: 'audit_event',
  properties: {
    eventId: { type: 'string', primary: true },
    type: { type: 'string' },
    version: { type: 'integer' },
    sourceService: { type: 'string' },
    correlationId: { type: 'string' },
    causationId: { type: 'string', nullable: true },
    subject: { type: 'string' },
    driverId: { type: 'uuid', nullable: true },
    occurredAt: { type: 'Date' },
    receivedAt: { type: 'Date' },
    traceId: { type: 'string', nullable: true },
    deliveryAttempt: { type: 'integer' },
    payload: { type: 'json' },
  },
});
