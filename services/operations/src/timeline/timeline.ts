import type { EntityManager } from '@mikro-orm/core';
import type { RegistrationTimeline, TimelineStep } from '@onboarding/contracts';
import { AuditEvent } from '../audit/audit-event';

interface StepKind {
  step: string;
  compensation?: boolean;
  failure?: boolean;
}

/** What each event type means as a step of a driver's saga. */
const STEPS: Readonly<Record<string, StepKind>> = {
  'driver.registered': { step: 'registered' },
  'identity.account.created': { step: 'account-created' },
  'identity.account.creation-failed': { step: 'account-creation-failed', failure: true },
  'driver.activated': { step: 'activated' },
  'driver.registration-failed': { step: 'registration-failed', failure: true },
  'driver.activation-rejected': { step: 'activation-rejected', compensation: true },
  'identity.account.deleted': { step: 'account-deleted' },
  'mail.welcome-sent': { step: 'welcome-mail-sent' },
  'notification.admins-notified': { step: 'admins-notified' },
  'driver.updated': { step: 'updated' },
  'identity.account.updated': { step: 'account-updated' },
  'driver.deleted': { step: 'deleted' },
  'driver.erased': { step: 'erased' },
  'identity.driver-data.erased': { step: 'data-erased' },
  'mailer.driver-data.erased': { step: 'data-erased' },
  'notification.driver-data.erased': { step: 'data-erased' },
};

/** The steps each outcome needs before its timeline is complete. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  ACTIVE: ['registered', 'account-created', 'activated', 'welcome-mail-sent', 'admins-notified'],
  FAILED: ['registered', 'registration-failed', 'admins-notified'],
  DELETED: ['registered', 'deleted'],
  ERASED: ['erased'],
  // A saga still running is never complete: it lacks its end (activated, or registration failed).
  PENDING: ['registered', 'outcome'],
};

export function traceLink(template: string | undefined, traceId: string | null): string | null {
  return template && traceId ? template.replaceAll('{traceId}', traceId) : null;
}

/**
 * A driver's timeline from the audit copies of its events, oldest first. One fact published as several major
 * versions side by side (`driver.registered` v1 and v2) is one step listing both versions. An account deleted
 * after its activation was rejected is a compensation step. Returns null when operations has seen nothing of the driver.
 */
export async function registrationTimeline(em: EntityManager, driverId: string, traceUiUrl?: string): Promise<RegistrationTimeline | null> {
  const events = await em.find(
    AuditEvent,
    { driverId },
    { orderBy: [{ occurredAt: 'asc' }, { receivedAt: 'asc' }, { eventId: 'asc' }], limit: 10_000 },
  );
  if (events.length === 0) return null;
  const steps: TimelineStep[] = [];
  const sameFact = new Map<string, TimelineStep>();
  /** event id → the event id of the step it was shown as (itself, or the step it was merged into). */
  const shownAs = new Map<string, string>();
  let rejected = false;
  for (const event of events) {
    // One fact, several events: the versions a producer publishes side by side (same time, same cause), and what a
    // consumer did once per copy of them (identity refuses the v1 and the v2 copy of a registration alike).
    // Without a cause (an HTTP request's events), versions staged by one request are the same fact: another major
    // version of the same type within a second.
    const cause = event.causationId === null ? null : (shownAs.get(event.causationId) ?? event.causationId);
    const factKey = `${event.type}|${event.sourceService}|${event.correlationId}|${cause ?? 'uncaused'}`;
    const seen = sameFact.get(factKey);
    const sameFactSeen =
      seen !== undefined &&
      (cause !== null || (!seen.versions.includes(event.version) && Math.abs(Date.parse(seen.at) - event.occurredAt.getTime()) < 1_000));
    if (seen && sameFactSeen) {
      if (!seen.versions.includes(event.version)) seen.versions.push(event.version);
      shownAs.set(event.eventId, seen.eventId);
      continue;
    }
    shownAs.set(event.eventId, event.eventId);
    const kind = STEPS[event.type] ?? { step: event.type };
    if (event.type === 'driver.activation-rejected') rejected = true;
    const payload = event.payload;
    const step: TimelineStep = {
      step: kind.step,
      eventType: event.type,
      versions: [event.version],
      service: event.sourceService,
      at: event.occurredAt.toISOString(),
      receivedAt: event.receivedAt.toISOString(),
      eventId: event.eventId,
      correlationId: event.correlationId,
      causationId: event.causationId,
      // An account deleted because its activation was rejected undoes the account's creation.
      compensation:
        kind.compensation === true || (event.type === 'identity.account.deleted' && (rejected || payload.reason === 'activation-rejected')),
      failure: kind.failure === true,
      ...(typeof payload.reason === 'string' ? { reason: payload.reason } : {}),
      ...(typeof payload.code === 'string' ? { code: payload.code } : {}),
      ...(typeof payload.attempts === 'number' && payload.attempts >= 1 ? { attempts: payload.attempts } : {}),
      traceId: event.traceId,
      traceUrl: traceLink(traceUiUrl, event.traceId),
    };
    sameFact.set(factKey, step);
    steps.push(step);
  }
  const outcome = outcomeOf(steps);
  const seenSteps = new Set(steps.map((step) => step.step));
  const missing = (REQUIRED[outcome] ?? []).filter((required) => !seenSteps.has(required));
  // A registration that failed after its account was created is complete only once the account is gone again.
  if (outcome === 'FAILED' && seenSteps.has('account-created') && !seenSteps.has('account-deleted')) missing.push('account-deleted');
  return { driverId, outcome, complete: missing.length === 0, missing, steps };
}

function outcomeOf(steps: readonly TimelineStep[]): string {
  const seen = new Set(steps.map((step) => step.step));
  if (seen.has('erased')) return 'ERASED';
  if (seen.has('deleted')) return 'DELETED';
  if (seen.has('registration-failed')) return 'FAILED';
  if (seen.has('activated')) return 'ACTIVE';
  return 'PENDING';
}
