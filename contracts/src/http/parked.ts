import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../fields';

/**
 * Parked messages over HTTP. Two levels: each consuming service answers for its own `parked_message` table on
 * internal routes (`/internal/parked…`, reachable by operations inside the cluster, never routed by the gateway),
 * and operations aggregates them for admins under `/v1/operations/parked…`. Nothing here carries personal data:
 * a message is shown as its scrubbed payload and error, as the table keeps them for showing.
 */

/** Every consuming service's internal routes (not under `/v1`: the gateway routes only `/v1` prefixes). */
export const INTERNAL_PARKED_PATHS = {
  list: '/internal/parked',
  replay: '/internal/parked/replay',
  archive: '/internal/parked/archive',
  restore: '/internal/parked/restore',
} as const;

export const PARKED_STATES = ['open', 'replayed', 'archived'] as const;
export const ParkedState = Type.Union(PARKED_STATES.map((state) => Type.Literal(state)));
export type ParkedState = Static<typeof ParkedState>;

const Name = Type.String({ minLength: 1, maxLength: 200 });
/** A row id of a service's table (a bigint, as text). */
const RowId = Type.String({ pattern: '^[0-9]{1,18}$' });
const NullableTime = Type.Union([Timestamp, Type.Null()]);

/** `GET /internal/parked`: one service's parked messages, newest first. */
export const InternalParkedQuery = Type.Object(
  {
    reason: Type.Optional(Name),
    queue: Type.Optional(Name),
    /** Default `open`. */
    state: Type.Optional(ParkedState),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
    /** The next page: only messages after this row in newest-first order (the `nextBefore` of the previous page). */
    before: Type.Optional(RowId),
    /** Only messages whose CloudEvents subject is this (a driver id): what a registration's timeline shows. */
    subject: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);
export type InternalParkedQuery = Static<typeof InternalParkedQuery>;

export const InternalParkedMessage = Type.Object({
  id: RowId,
  sourceQueue: Type.String(),
  messageId: Type.String(),
  type: Type.Union([Type.String(), Type.Null()]),
  routingKey: Type.String(),
  reason: Type.String(),
  /** Scrubbed of addresses and phone numbers. */
  error: Type.String(),
  attempts: Type.Integer(),
  deliveryCount: Type.Integer(),
  /** When the platform first received it, when its headers said so. */
  firstReceivedAt: NullableTime,
  parkedAt: Timestamp,
  replayedAt: NullableTime,
  archivedAt: NullableTime,
  replays: Type.Integer(),
  state: ParkedState,
  hasPersonalData: Type.Boolean(),
  /** False once erased or past its retention: a replay is then refused. */
  personalDataKept: Type.Boolean(),
  /** The message with personal fields replaced. */
  payload: Type.String(),
  /**
   * Its CloudEvents subject (a driver id: no personal data), when it was an envelope that named one: the registration
   * it belongs to. Optional: a service deployed before it answers without.
   */
  subject: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export type InternalParkedMessage = Static<typeof InternalParkedMessage>;

export const InternalParkedList = Type.Object({
  /** The newest messages the filter selects, at most `limit`. */
  items: Type.Array(InternalParkedMessage),
  /**
   * Every message the filter selects, counted by queue and reason (not only the listed ones). Optional: a service
   * deployed before it was added answers without, and operations then counts the listed items.
   */
  groups: Type.Optional(Type.Array(Type.Object({ queue: Type.String(), reason: Type.String(), count: Type.Integer() }))),
  /**
   * Where the next page starts (`before`), or null on the last page. Optional: a service deployed before paging
   * answers without, and ignores `before`.
   */
  nextBefore: Type.Optional(Type.Union([RowId, Type.Null()])),
});
export type InternalParkedList = Static<typeof InternalParkedList>;

/** What a replay, archive or restore acts on: the given row ids, or the rows a filter selects (at most `limit`). */
export const InternalParkedAction = Type.Object(
  {
    ids: Type.Optional(Type.Array(RowId, { minItems: 1, maxItems: 1000 })),
    reason: Type.Optional(Name),
    queue: Type.Optional(Name),
    /** Only count (and list) what would be done. */
    dryRun: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1000 })),
  },
  { additionalProperties: false },
);
export type InternalParkedAction = Static<typeof InternalParkedAction>;

export const PARKED_OUTCOMES = ['replayed', 'would-replay', 'refused', 'archived', 'would-archive', 'restored', 'would-restore'] as const;
export const ParkedOutcome = Type.Union(PARKED_OUTCOMES.map((outcome) => Type.Literal(outcome)));
export type ParkedOutcome = Static<typeof ParkedOutcome>;

export const InternalParkedResult = Type.Object({
  dryRun: Type.Boolean(),
  /** Messages done (or, on a dry run, that would be); refused ones not counted. */
  count: Type.Integer(),
  results: Type.Array(Type.Object({ id: RowId, messageId: Type.String(), outcome: ParkedOutcome, why: Type.Optional(Type.String()) })),
});
export type InternalParkedResult = Static<typeof InternalParkedResult>;

// ---- operations, admin-only through the gateway ----

export const ParkedQuery = Type.Object(
  {
    service: Type.Optional(Name),
    reason: Type.Optional(Name),
    queue: Type.Optional(Name),
    /** Default `open`. */
    state: Type.Optional(ParkedState),
  },
  { additionalProperties: false },
);
export type ParkedQuery = Static<typeof ParkedQuery>;

export const OPERATOR_ACTIONS = ['replay', 'archive', 'restore'] as const;
export const OperatorActionKind = Type.Union(OPERATOR_ACTIONS.map((action) => Type.Literal(action)));
export type OperatorActionKind = Static<typeof OperatorActionKind>;

export const ParkedMessageView = Type.Composite([
  Type.Object({ service: Type.String() }),
  InternalParkedMessage,
  Type.Object({
    /** The latest operator action that touched it (not dry runs), if operations recorded one. */
    lastAction: Type.Union([Type.Object({ action: OperatorActionKind, at: Timestamp, by: Type.String(), outcome: ParkedOutcome }), Type.Null()]),
  }),
]);
export type ParkedMessageView = Static<typeof ParkedMessageView>;

export const ParkedGroup = Type.Object({ service: Type.String(), queue: Type.String(), reason: Type.String(), count: Type.Integer() });
export type ParkedGroup = Static<typeof ParkedGroup>;

export const ParkedOverview = Type.Object({
  /** By service, queue and reason, the largest first. */
  groups: Type.Array(ParkedGroup),
  byReason: Type.Array(Type.Object({ reason: Type.String(), count: Type.Integer() })),
  byQueue: Type.Array(Type.Object({ queue: Type.String(), count: Type.Integer() })),
  /** The newest messages of each service (at most `PARKED_LISTED_PER_SERVICE` each), newest first. */
  messages: Type.Array(ParkedMessageView),
  /** How many messages the groups count in all: more than `messages` holds when a service has more than are listed. */
  total: Type.Integer(),
  /** Services that did not answer in time: their messages are missing from this answer. */
  unreachable: Type.Array(Type.String()),
});
export type ParkedOverview = Static<typeof ParkedOverview>;

/** `GET /v1/operations/parked/messages`: one service's parked messages, newest first, a page at a time. */
export const ParkedPageQuery = Type.Object(
  {
    service: Name,
    reason: Type.Optional(Name),
    queue: Type.Optional(Name),
    /** Default `open`. */
    state: Type.Optional(ParkedState),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    /** The `nextBefore` of the previous page. */
    before: Type.Optional(RowId),
  },
  { additionalProperties: false },
);
export type ParkedPageQuery = Static<typeof ParkedPageQuery>;

export const ParkedPage = Type.Object({
  items: Type.Array(ParkedMessageView),
  /** Pass as `before` for the next page; null on the last one. */
  nextBefore: Type.Union([RowId, Type.Null()]),
});
export type ParkedPage = Static<typeof ParkedPage>;

/** One message (`service` and `id`) or a group (`service`, `queue`, `reason`, each optional: all when absent). */
export const ParkedActionBody = Type.Object(
  {
    service: Type.Optional(Name),
    id: Type.Optional(RowId),
    queue: Type.Optional(Name),
    reason: Type.Optional(Name),
    dryRun: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ParkedActionBody = Static<typeof ParkedActionBody>;

export const ParkedActionResult = Type.Object({
  action: OperatorActionKind,
  dryRun: Type.Boolean(),
  /** Messages done (or that would be). */
  count: Type.Integer(),
  refused: Type.Integer(),
  results: Type.Array(
    Type.Object({ service: Type.String(), id: RowId, messageId: Type.String(), outcome: ParkedOutcome, why: Type.Optional(Type.String()) }),
  ),
  /** Services that could not be asked: nothing was done there. */
  failed: Type.Array(Type.Object({ service: Type.String(), error: Type.String() })),
  /** The recorded operator action. */
  actionId: Type.String(),
});
export type ParkedActionResult = Static<typeof ParkedActionResult>;

export const OperatorAction = Type.Object({
  id: Type.String(),
  at: Timestamp,
  /** The verified subject of the admin's token, as the gateway passed it. */
  by: Type.String(),
  action: OperatorActionKind,
  dryRun: Type.Boolean(),
  filter: ParkedActionBody,
  count: Type.Integer(),
  refused: Type.Integer(),
  failedServices: Type.Array(Type.String()),
});
export type OperatorAction = Static<typeof OperatorAction>;

export const OperatorActionQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) },
  { additionalProperties: false },
);
export type OperatorActionQuery = Static<typeof OperatorActionQuery>;

export const OperatorActionList = Type.Object({ items: Type.Array(OperatorAction) });
export type OperatorActionList = Static<typeof OperatorActionList>;
