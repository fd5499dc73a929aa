import {
  INTERNAL_PARKED_PATHS,
  InternalParkedAction,
  InternalParkedList,
  InternalParkedQuery,
  InternalParkedResult,
  Problem,
  type InternalParkedMessage,
  type ParkedOutcome,
} from '@onboarding/contracts';
import { AppError, type HttpSetup } from '@onboarding/service-kit';
import { archiveParked, countParked, listParked, replayParked, restoreParked, type ParkedMessage, type ParkedTables } from './parking-lot';

/** Where the routes find the service's own table and broker. */
export interface ParkedRoutesOptions {
  service: string;
  schema: string;
  databaseUrl: string;
  amqpUrl: string;
}

/**
 * The parked-message operations of one service over its own `parked_message` table, as internal HTTP routes the
 * chassis registers for every service with messaging: operations calls them to show and act on every service's
 * parked messages without reading another service's tables. They are not under `/v1`, so the gateway, which
 * routes only its services' `/v1` prefixes, never exposes them; inside the cluster only operations may reach a
 * service (deploy/base NetworkPolicies). The answers show the scrubbed payload and error only, never the personal
 * data kept apart for a replay.
 */
export function parkedRoutes(options: ParkedRoutesOptions): HttpSetup {
  return (app) => register(app, options);
}

function register(app: Parameters<HttpSetup>[0], options: ParkedRoutesOptions): void {
  const tables: ParkedTables = { databaseUrl: options.databaseUrl, services: [{ service: options.service, schema: options.schema }] };

  app.get<{ Querystring: InternalParkedQuery }>(
    INTERNAL_PARKED_PATHS.list,
    { schema: { querystring: InternalParkedQuery, response: { 200: InternalParkedList, 400: Problem } } },
    async (request) => {
      const { reason, queue, state = 'open', limit = 200, before, subject } = request.query;
      const filter = { ...tables, reason, subject: subject?.toLowerCase(), queues: queue === undefined ? undefined : [queue], state };
      // The newest `limit` rows to show (one more, to know whether a page follows), and the counts of every row the
      // filter selects, so groups stay exact past a page; a later page (`before`) needs no counts again.
      const [listed, groups] = await Promise.all([
        listParked({ ...filter, limit: limit + 1, newestFirst: true, olderThan: before }),
        before === undefined ? countParked(filter) : Promise.resolve(undefined),
      ]);
      const items = listed.slice(0, limit);
      return {
        items: items.map(view),
        ...(groups ? { groups: groups.map(({ sourceQueue, reason, count }) => ({ queue: sourceQueue, reason, count })) } : {}),
        nextBefore: listed.length > limit ? items[items.length - 1]!.id : null,
      };
    },
  );

  const filterOf = (body: InternalParkedAction) => ({
    ...tables,
    ids: body.ids,
    reason: body.reason,
    queues: body.queue === undefined ? undefined : [body.queue],
    limit: body.limit ?? 1000,
    dryRun: body.dryRun ?? false,
  });
  const actionSchema = { body: InternalParkedAction, response: { 200: InternalParkedResult, 400: Problem } };

  app.post<{ Body: InternalParkedAction }>(INTERNAL_PARKED_PATHS.replay, { schema: actionSchema }, async (request) => {
    const filter = filterOf(request.body);
    // A broker that is away, or a redirect exchange that does not exist yet, fails the replay before any row is
    // marked: the operator may try again; 503 says so rather than an unexplained 500.
    const result = await replayParked({ ...filter, amqpUrl: options.amqpUrl }).catch((err: unknown) => {
      throw AppError.unavailable(`the replay could not publish: ${err instanceof Error ? err.message : String(err)}`, 'replay-unavailable');
    });
    return {
      dryRun: filter.dryRun,
      count: result.replayed.length,
      results: [
        ...result.replayed.map((message) => outcome(message, filter.dryRun ? 'would-replay' : 'replayed')),
        ...result.refused.map(({ message, why }) => ({ ...outcome(message, 'refused'), why })),
      ],
    };
  });

  app.post<{ Body: InternalParkedAction }>(INTERNAL_PARKED_PATHS.archive, { schema: actionSchema }, async (request) => {
    const filter = filterOf(request.body);
    const done = await archiveParked(filter);
    return {
      dryRun: filter.dryRun,
      count: done.length,
      results: done.map((message) => outcome(message, filter.dryRun ? 'would-archive' : 'archived')),
    };
  });

  app.post<{ Body: InternalParkedAction }>(INTERNAL_PARKED_PATHS.restore, { schema: actionSchema }, async (request) => {
    const filter = filterOf(request.body);
    const done = await restoreParked(filter);
    return {
      dryRun: filter.dryRun,
      count: done.length,
      results: done.map((message) => outcome(message, filter.dryRun ? 'would-restore' : 'restored')),
    };
  });
}

function outcome(message: ParkedMessage, what: ParkedOutcome): { id: string; messageId: string; outcome: ParkedOutcome } {
  return { id: message.id, messageId: message.messageId, outcome: what };
}

const iso = (date: Date | null) => (date === null ? null : date.toISOString());

/** A row as the routes show it: everything the listing knows, the payload scrubbed as stored for showing. */
function view(message: ParkedMessage): InternalParkedMessage {
  return {
    id: message.id,
    sourceQueue: message.sourceQueue,
    messageId: message.messageId,
    type: message.type,
    routingKey: message.routingKey,
    reason: message.reason,
    error: message.error,
    attempts: message.attempts,
    deliveryCount: message.deliveryCount,
    firstReceivedAt: iso(message.firstReceivedAt),
    parkedAt: message.parkedAt.toISOString(),
    replayedAt: iso(message.replayedAt),
    archivedAt: iso(message.archivedAt),
    replays: message.replays,
    state: message.archivedAt ? 'archived' : message.replayedAt ? 'replayed' : 'open',
    hasPersonalData: message.hasPersonalData,
    personalDataKept: message.personalDataKept,
    payload: message.payload,
    subject: message.subject,
  };
}
