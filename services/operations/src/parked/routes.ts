import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import {
  OperatorActionList,
  OperatorActionQuery,
  ParkedActionBody,
  ParkedActionResult,
  ParkedOverview,
  ParkedPage,
  ParkedPageQuery,
  ParkedQuery,
  Problem,
  type InternalParkedAction,
  type OperatorActionKind,
  type ParkedGroup,
  type ParkedMessageView,
} from '@onboarding/contracts';
import { AppError, forwardedCaller } from '@onboarding/service-kit';
import type { OperationsConfig } from '../config';
import { lastActions, recentActions, recordAction } from './operator-actions';
import { PARKED_SERVICES, ServiceParked } from './service-parked';

/** The newest parked messages listed per service; the groups count all of them (act on a group to reach the rest). */
export const PARKED_LISTED_PER_SERVICE = 200;
/** How many of the newest real actions the listing looks through for each message's last action. */
const LAST_ACTION_WINDOW = 500;
/** Recorded as the subject of a request that did not come through the gateway (a direct call inside the cluster). */
const NO_SUBJECT = '(no verified subject)';

/**
 * The parked-message view for admins: every consuming service's parked messages (asked over its internal routes),
 * grouped by service, queue and reason; replay, archive and restore of one message or a group, with a dry run;
 * every action recorded with who and when in operations' own `operator_action` table.
 */
export async function parkedViewRoutes(
  app: FastifyInstance,
  { orm, schema, config }: { orm: MikroORM; schema: string; config: OperationsConfig },
): Promise<void> {
  const services = new ServiceParked(app, config);
  const known = (service: string | undefined) => {
    if (service !== undefined && !PARKED_SERVICES.includes(service)) {
      throw AppError.badRequest(`${service} is not a consuming service (${PARKED_SERVICES.join(', ')})`, 'unknown-service');
    }
    return service === undefined ? PARKED_SERVICES : [service];
  };

  app.get<{ Querystring: ParkedQuery }>(
    '/v1/operations/parked',
    { schema: { querystring: ParkedQuery, response: { 200: ParkedOverview, 400: Problem } } },
    async (request) => {
      const { service, queue, reason, state } = request.query;
      const asked = known(service);
      const answers = await Promise.all(
        asked.map((name) =>
          services.list(name, { queue, reason, state, limit: PARKED_LISTED_PER_SERVICE }).then(
            (list) => ({ name, items: list.items, groups: list.groups }),
            (err: unknown) => {
              request.log.warn({ service: name, err: err instanceof Error ? err.message : String(err) }, 'parked messages not listed');
              return { name, items: null, groups: undefined };
            },
          ),
        ),
      );
      const last = await lastActions(orm.em.fork(), schema, LAST_ACTION_WINDOW);
      const messages: ParkedMessageView[] = answers
        .flatMap(({ name, items }) => (items ?? []).map((item) => ({ service: name, ...item, lastAction: last.get(`${name}/${item.id}`) ?? null })))
        .sort((a, b) => b.parkedAt.localeCompare(a.parkedAt));
      // Exact counts from each service; a service deployed before it counted answers with its listed items only.
      const counts: ParkedGroup[] = answers.flatMap(({ name, items, groups: counted }) =>
        counted
          ? counted.map((group) => ({ service: name, ...group }))
          : (items ?? []).map((item) => ({ service: name, queue: item.sourceQueue, reason: item.reason, count: 1 })),
      );
      const groups = summedBy(counts, (group) => `${group.service}/${group.queue}/${group.reason}`).map(({ first, count }) => ({ ...first, count }));
      return {
        groups,
        byReason: summedBy(groups, (group) => group.reason).map(({ key, count }) => ({ reason: key, count })),
        byQueue: summedBy(groups, (group) => group.queue).map(({ key, count }) => ({ queue: key, count })),
        messages,
        total: groups.reduce((sum, group) => sum + group.count, 0),
        unreachable: answers.filter((answer) => answer.items === null).map((answer) => answer.name),
      };
    },
  );

  // One service's messages a page at a time, past the overview's newest PARKED_LISTED_PER_SERVICE: an operator
  // reading a large group message by message.
  app.get<{ Querystring: ParkedPageQuery }>(
    '/v1/operations/parked/messages',
    { schema: { querystring: ParkedPageQuery, response: { 200: ParkedPage, 400: Problem, 503: Problem } } },
    async (request) => {
      const { service, queue, reason, state, before, limit = 50 } = request.query;
      known(service);
      const list = await services.list(service, { queue, reason, state, before, limit }).catch((err: unknown) => {
        throw AppError.unavailable(
          `${service} did not list its parked messages: ${err instanceof Error ? err.message : String(err)}`,
          'service-unavailable',
        );
      });
      const last = await lastActions(orm.em.fork(), schema, LAST_ACTION_WINDOW);
      return {
        items: list.items.map((item) => ({ service, ...item, lastAction: last.get(`${service}/${item.id}`) ?? null })),
        // A service deployed before paging answers without nextBefore and ignores `before`: its one page is the last.
        nextBefore: list.nextBefore ?? null,
      };
    },
  );

  for (const action of ['replay', 'archive', 'restore'] as const satisfies readonly OperatorActionKind[]) {
    app.post<{ Body: ParkedActionBody }>(
      `/v1/operations/parked/${action}`,
      { schema: { body: ParkedActionBody, response: { 200: ParkedActionResult, 400: Problem } } },
      async (request) => {
        const body = request.body;
        if (body.id !== undefined && body.service === undefined) throw AppError.badRequest('a message id needs its service', 'id-without-service');
        const asked = known(body.service);
        const dryRun = body.dryRun ?? false;
        const internal: InternalParkedAction =
          body.id !== undefined ? { ids: [body.id], dryRun } : { queue: body.queue, reason: body.reason, dryRun };
        const answers = await Promise.all(
          asked.map((name) =>
            services.act(name, action, internal).then(
              (result) => ({ name, result, error: null }),
              (err: unknown) => ({ name, result: null, error: err instanceof Error ? err.message : String(err) }),
            ),
          ),
        );
        const results = answers.flatMap(({ name, result }) => (result?.results ?? []).map((item) => ({ service: name, ...item })));
        const failed = answers.flatMap((answer) => (answer.error === null ? [] : [{ service: answer.name, error: answer.error }]));
        const count = answers.reduce((sum, answer) => sum + (answer.result?.count ?? 0), 0);
        const refused = results.filter((result) => result.outcome === 'refused').length;
        const subject = forwardedCaller(request.headers).subject ?? NO_SUBJECT;
        const actionId = await recordAction(orm.em.fork(), schema, {
          subject,
          action,
          dryRun,
          filter: body,
          count,
          refused,
          failedServices: failed.map((entry) => entry.service),
          results,
        });
        request.log.info({ action, dryRun, count, refused, failed: failed.length, actionId }, 'operator action on parked messages');
        return { action, dryRun, count, refused, results, failed, actionId };
      },
    );
  }

  app.get<{ Querystring: OperatorActionQuery }>(
    '/v1/operations/actions',
    { schema: { querystring: OperatorActionQuery, response: { 200: OperatorActionList, 400: Problem } } },
    async (request) => ({ items: await recentActions(orm.em.fork(), schema, request.query.limit ?? 50) }),
  );
}

/** Counts summed by a key, the largest first (ties by key), each with the first entry of its key. */
function summedBy<T extends { count: number }>(entries: readonly T[], keyOf: (entry: T) => string): { key: string; first: T; count: number }[] {
  const sums = new Map<string, { key: string; first: T; count: number }>();
  for (const entry of entries) {
    const key = keyOf(entry);
    const sum = sums.get(key);
    if (sum) sum.count += entry.count;
    else sums.set(key, { key, first: entry, count: entry.count });
  }
  return [...sums.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}
