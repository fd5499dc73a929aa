import { EntitySchema, type EntityManager } from '@mikro-orm/core';
import { context, propagation } from '@opentelemetry/api';
import { createEnvelope, validate, type CloudEvent, type EnvelopeOptions, type EventContract, type EventData } from '@onboarding/contracts';

/**
 * An event waiting to be published. It is written in the same transaction as the state change that caused
 * it, together with the trace context of that transaction, and published right after commit by the process that
 * committed it (CommittedOutboxPublisher), or later by the relay if that did not get it through.
 */
export class OutboxMessage {
  id: string;
  type: string;
  routingKey: string;
  payload: CloudEvent;
  headers: Record<string, string>;
  createdAt: Date = new Date();
  publishedAt?: Date | null;

  constructor(envelope: CloudEvent, routingKey: string) {
    this.id = envelope.id;
    this.type = envelope.type;
    this.routingKey = routingKey;
    this.payload = envelope;
    this.headers = traceContextHeaders();
  }
}

/** The active trace context as the outbox stores it with an event, for the relay to propagate on publish. */
export function traceContextHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

export const OutboxMessageSchema = new EntitySchema<OutboxMessage>({
  class: OutboxMessage,
  tableName: 'outbox',
  properties: {
    id: { type: 'uuid', primary: true },
    type: { type: 'string' },
    routingKey: { type: 'string' },
    payload: { type: 'json' },
    headers: { type: 'json' },
    createdAt: { type: 'Date' },
    publishedAt: { type: 'Date', nullable: true },
  },
});

export class InvalidEventError extends Error {
  constructor(
    readonly routingKey: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`refusing to publish ${routingKey}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
    this.name = 'InvalidEventError';
  }
}

/** An event a use case decided to emit: its contract and the payload, before it gets an envelope. */
export interface OutgoingEvent<C extends EventContract = EventContract> {
  contract: C;
  data: EventData<C>;
}

/** Pairs a payload with its contract, checked by the compiler. */
export function outgoing<C extends EventContract>(contract: C, data: EventData<C>): OutgoingEvent<C> {
  return { contract, data };
}

/** Stages an `OutgoingEvent` (see `addToOutbox`). */
export function stageEvent(em: EntityManager, event: OutgoingEvent, options: EnvelopeOptions): CloudEvent {
  return addToOutbox(em, event.contract, event.data, options);
}

/**
 * Stages an event in the outbox of the current unit of work; it is persisted by the use case's one flush.
 * The payload is checked against its contract first, so a producer bug fails the use case instead of
 * publishing an event no consumer can read.
 */
export function addToOutbox<C extends EventContract>(
  em: EntityManager,
  contract: C,
  data: EventData<C>,
  options: EnvelopeOptions,
): CloudEvent<EventData<C>> {
  const envelope = validatedEnvelope(contract, data, options);
  em.persist(new OutboxMessage(envelope, contract.routingKey));
  return envelope;
}

/** The envelope of an event whose payload its contract accepts; throws `InvalidEventError` otherwise. */
export function validatedEnvelope<C extends EventContract>(contract: C, data: EventData<C>, options: EnvelopeOptions): CloudEvent<EventData<C>> {
  const result = validate(contract.schema, data);
  if (!result.ok) throw new InvalidEventError(contract.routingKey, result.issues);
  return createEnvelope(contract, data, options);
}

/**
 * Erasure: deletes every outbox row about `subject` (a driver id), published or not, in the caller's
 * transaction. Event payloads carry the personal data they are about, and published rows stay OUTBOX_RETENTION_MS
 * (a day by default) before the retention purge deletes them; an unpublished one is dropped too, since its subject is being forgotten. Returns the
 * number of rows deleted. Call it before staging the erasure's own event, which has the same subject.
 */
export async function forgetOutboxSubject(em: EntityManager, subject: string): Promise<number> {
  return em.nativeDelete(OutboxMessage, { payload: { subject } });
}
