import { Type, type Static } from '@sinclair/typebox';
import { DriverId, Timestamp } from '../fields';

/**
 * The operations service's answers (admin only, through the gateway). They carry ids, types, services, times,
 * reasons and counts: no personal data, since operations keeps none.
 */

/** One step of a registration's saga, as the audit copy of its event shows it. */
export const TimelineStep = Type.Object({
  /** What happened, e.g. `registered`, `account-created`, `account-creation-failed`, `welcome-mail-sent`. */
  step: Type.String(),
  /** The event type it was read from, e.g. `identity.account.created`. */
  eventType: Type.String(),
  /** The major versions of it that were published (a registration goes out as v1 and v2 side by side). */
  versions: Type.Array(Type.Integer({ minimum: 1 })),
  /** The service that did it: the verified publisher of the event. */
  service: Type.String(),
  /** When it happened (the event's time). */
  at: Timestamp,
  /** When operations received its audit copy. */
  receivedAt: Timestamp,
  eventId: Type.String(),
  correlationId: Type.String(),
  causationId: Type.Union([Type.String(), Type.Null()]),
  /** A step that undoes an earlier one (an account deleted after its activation was rejected). */
  compensation: Type.Boolean(),
  /** A step after which the registration cannot succeed. */
  failure: Type.Boolean(),
  /** Why, for a refusal or failure (`reason`, `code` of the event; personal data masked). */
  reason: Type.Optional(Type.String()),
  code: Type.Optional(Type.String()),
  /** How many tries the service needed, when its event says (the mailer's claimed sends). */
  attempts: Type.Optional(Type.Integer({ minimum: 1 })),
  /** The OpenTelemetry trace id of the delivery operations received (the saga's trace), when traces are recorded. */
  traceId: Type.Union([Type.String(), Type.Null()]),
  /** A link to the trace in the trace UI, when `TRACE_UI_URL` is configured. */
  traceUrl: Type.Union([Type.String(), Type.Null()]),
});
export type TimelineStep = Static<typeof TimelineStep>;

/** A parked message about a registration's driver, as the timeline shows it (scrubbed: no personal data). */
export const TimelineParkedMessage = Type.Object({
  service: Type.String(),
  /** The row id in the service's parked-message table (what a replay or archive names). */
  id: Type.String(),
  messageId: Type.String(),
  type: Type.Union([Type.String(), Type.Null()]),
  sourceQueue: Type.String(),
  reason: Type.String(),
  /** Scrubbed of addresses and phone numbers. */
  error: Type.String(),
  attempts: Type.Integer(),
  parkedAt: Timestamp,
});
export type TimelineParkedMessage = Static<typeof TimelineParkedMessage>;

export const RegistrationTimeline = Type.Object({
  driverId: DriverId,
  /** What the steps add up to: `ACTIVE`, `FAILED`, `DELETED`, `ERASED` or `PENDING` while the saga runs. */
  outcome: Type.String(),
  /** Whether every step the outcome needs is there (ACTIVE: registered, account created, activated, welcome mail sent, admins notified). */
  complete: Type.Boolean(),
  /** Steps the outcome needs and the audit has not seen (yet). */
  missing: Type.Array(Type.String()),
  steps: Type.Array(TimelineStep),
  /**
   * While the timeline is not complete: the open parked messages about this driver in every service (why a step may
   * be missing: a refused mail, a message no handler could process). Optional: an operations deployed before it
   * answers without.
   */
  parked: Type.Optional(Type.Array(TimelineParkedMessage)),
  /** Services that were not asked or did not answer for `parked`: their parked messages are not shown. */
  parkedUnreachable: Type.Optional(Type.Array(Type.String())),
});
export type RegistrationTimeline = Static<typeof RegistrationTimeline>;

export const TimelineParams = Type.Object({ driverId: DriverId }, { additionalProperties: false });
export type TimelineParams = Static<typeof TimelineParams>;

export const OVERVIEW_BUCKETS = ['1m', '5m', '15m', '1h', '1d'] as const;

export const OverviewQuery = Type.Object(
  {
    /** Start of the saga-outcome chart (default: `to` minus 24 hours). */
    from: Type.Optional(Timestamp),
    /** End of the chart (default: now). */
    to: Type.Optional(Timestamp),
    /** Width of one bar of the chart (default `1h`); at most 500 bars per answer. */
    bucket: Type.Optional(Type.Union(OVERVIEW_BUCKETS.map((bucket) => Type.Literal(bucket)))),
  },
  { additionalProperties: false },
);
export type OverviewQuery = Static<typeof OverviewQuery>;

const Nullable = <T extends ReturnType<typeof Type.Number>>(schema: T) => Type.Union([schema, Type.Null()]);

export const ServiceOverview = Type.Object({
  service: Type.String(),
  /** Its `/readyz` status, or `unreachable` when it did not answer in time. */
  status: Type.Union([Type.Literal('ready'), Type.Literal('degraded'), Type.Literal('unready'), Type.Literal('unreachable')]),
  /** Its readiness checks and details as it reported them (breakers included), null when unreachable. */
  checks: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  /** Circuit breakers and their states (`closed`, `open`, `half-open`), from its readiness details. */
  breakers: Type.Record(Type.String(), Type.String()),
  /** Outbox rows not yet published, and the age of the oldest, from its `/metrics`; null for a service without an outbox or unreachable. */
  outboxBacklog: Nullable(Type.Number()),
  outboxOldestAgeSeconds: Nullable(Type.Number()),
  /** Open parked messages in its own table (its `parked_messages` gauge); null for a service without messaging or unreadable. */
  parkedMessages: Nullable(Type.Number()),
});
export type ServiceOverview = Static<typeof ServiceOverview>;

export const QueueOverview = Type.Object({
  queue: Type.String(),
  /** The service whose queue it is (null for the shared unroutable queue). */
  service: Type.Union([Type.String(), Type.Null()]),
  kind: Type.Union([Type.Literal('work'), Type.Literal('parked'), Type.Literal('unroutable')]),
  /** Messages ready in it, or null when it could not be read (missing, broker away). */
  messages: Nullable(Type.Number()),
  consumers: Nullable(Type.Number()),
});
export type QueueOverview = Static<typeof QueueOverview>;

export const SagaOutcomeBucket = Type.Object({
  start: Timestamp,
  /** Registrations activated, failed, and compensated (an account deleted after a rejected activation) in the bucket. */
  active: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  compensated: Type.Integer({ minimum: 0 }),
});
export type SagaOutcomeBucket = Static<typeof SagaOutcomeBucket>;

export const SystemOverview = Type.Object({
  generatedAt: Timestamp,
  services: Type.Array(ServiceOverview),
  queues: Type.Array(QueueOverview),
  /**
   * Open parked messages per consuming service (neither replayed nor archived), from each service's own table
   * through its `parked_messages` gauge (null when unreadable); operations' own is counted directly.
   */
  parked: Type.Record(Type.String(), Nullable(Type.Number())),
  sagaOutcomes: Type.Object({
    from: Timestamp,
    to: Timestamp,
    bucket: Type.String(),
    buckets: Type.Array(SagaOutcomeBucket),
  }),
});
export type SystemOverview = Static<typeof SystemOverview>;
