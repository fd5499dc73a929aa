import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { EntityManager } from '@mikro-orm/core';
import { allEvents, eventFlow, type CloudEvent, type EventContract } from '@onboarding/contracts';
import { handlerFor, type MessageContext, type MessageHandler } from '@onboarding/messaging';
import { AuditEvent } from './audit-event';
import { auditPayload, driverIdOf } from './audit-payload';

/**
 * The audit copy of one event. The consumer has already checked the event against its contract and its publisher
 * against the producer `eventFlow` names, so the source service recorded is the verified one, not the envelope's
 * claim.
 */
function auditCopy(contract: EventContract, event: CloudEvent, context: MessageContext): AuditEvent {
  const spanContext = trace.getActiveSpan()?.spanContext();
  const traceId = spanContext && isSpanContextValid(spanContext) ? spanContext.traceId : null;
  return new AuditEvent(
    event.id,
    event.type,
    contract.version,
    eventFlow[contract.routingKey]?.producer ?? 'unknown',
    event.correlationid,
    event.causationid ?? null,
    event.subject,
    driverIdOf(event.data),
    new Date(event.time),
    new Date(),
    traceId,
    context.attempt,
    auditPayload(event.data),
  );
}

/**
 * Stores the audit copy of one event with its inbox record in one statement (one round trip): operations receives
 * every event of the platform, so this is its whole message path.
 */
export async function recordAuditCopy(contract: EventContract, event: CloudEvent, context: MessageContext): Promise<void> {
  const copy = auditCopy(contract, event, context);
  await context.commitInOneStatement({
    effects: [
      {
        sql: `insert into "${context.schema}"."audit_event" ("event_id", "type", "version", "source_service", "correlation_id", "causation_id",
          "subject", "driver_id", "occurred_at", "received_at", "trace_id", "delivery_attempt", "payload")
          values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)`,
        params: [
          copy.eventId,
          copy.type,
          copy.version,
          copy.sourceService,
          copy.correlationId,
          copy.causationId,
          copy.subject,
          copy.driverId,
          copy.occurredAt,
          copy.receivedAt,
          copy.traceId,
          copy.deliveryAttempt,
          JSON.stringify(copy.payload),
        ],
      },
    ],
  });
}

/** The audit copy stored through the ORM together with `alsoInTransaction` (the erasure's, off the hot path). */
export async function recordAuditCopyWith(
  contract: EventContract,
  event: CloudEvent,
  context: MessageContext,
  alsoInTransaction: (em: EntityManager) => Promise<unknown>,
): Promise<void> {
  const copy = auditCopy(contract, event, context);
  await context.commit(async (em) => {
    await alsoInTransaction(em);
    em.persist(copy);
  });
}

/** One handler per routing key of the catalog, each keeping the audit copy; `overrides` replace it for a key. */
export function auditHandlers(overrides: readonly MessageHandler[] = []): MessageHandler[] {
  const replaced = new Set(overrides.map((handler) => handler.contract.routingKey));
  return allEvents
    .filter((contract) => !replaced.has(contract.routingKey))
    .map((contract) => handlerFor(contract, (event, context) => recordAuditCopy(contract, event, context)))
    .concat(overrides);
}
