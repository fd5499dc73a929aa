import type { AddressInfo } from 'node:net';
import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { CONSUMING_SERVICES, OverviewQuery, Problem, SystemOverview } from '@onboarding/contracts';
import { OPERATIONS, WATCHED_SERVICES, watchedUrl, type OperationsConfig } from '../config';
import { queueDepths } from './queue-depths';
import { outcomeWindow, sagaOutcomes } from './saga-outcomes';
import { serviceHealth } from './service-health';

/**
 * `GET /v1/operations/overview`: every service's readiness and breakers, outbox backlog and oldest age, queue
 * depths, parked counts and the saga outcomes over time. Read when asked (an admin page, not a hot path), each
 * source bounded by `OVERVIEW_PROBE_TIMEOUT_MS`, so one service or the broker being away shows as such rather
 * than failing the answer.
 */
export async function overviewRoutes(
  app: FastifyInstance,
  { orm, schema, config }: { orm: MikroORM; schema: string; config: OperationsConfig },
): Promise<void> {
  app.get<{ Querystring: OverviewQuery }>(
    '/v1/operations/overview',
    { schema: { querystring: OverviewQuery, response: { 200: SystemOverview, 400: Problem } } },
    async (request) => {
      const window = outcomeWindow(request.query);
      const timeoutMs = config.OVERVIEW_PROBE_TIMEOUT_MS;
      const [services, queues, buckets] = await Promise.all([
        Promise.all([
          ...WATCHED_SERVICES.map((entry) => serviceHealth(entry.name, watchedUrl(config, entry.name), timeoutMs)),
          // Itself too, through its own HTTP like the others, so its row means the same thing (readiness, gauges).
          serviceHealth(OPERATIONS.name, ownUrl(app), timeoutMs),
        ]),
        queueDepths(config.AMQP_URL, timeoutMs),
        sagaOutcomes(orm.em.fork(), schema, window),
      ]);
      const consuming = new Set<string>(CONSUMING_SERVICES.map((entry) => entry.name));
      const parked: Record<string, number | null> = Object.fromEntries(
        services.filter((service) => consuming.has(service.service)).map((service) => [service.service, service.parkedMessages]),
      );
      return {
        generatedAt: new Date().toISOString(),
        services,
        queues,
        parked,
        sagaOutcomes: { from: window.from.toISOString(), to: window.to.toISOString(), bucket: window.bucket, buckets },
      };
    },
  );
}

/** Where this instance answers itself: the address its server listens on, on loopback when it listens on all. */
function ownUrl(app: FastifyInstance): string {
  const listening = app.addresses().find((entry): entry is AddressInfo => typeof entry !== 'string');
  if (!listening) return 'http://127.0.0.1:0'; // not on TCP (never the case once it answers a request): unreachable
  const wildcard = listening.address === '0.0.0.0' || listening.address === '::';
  const host = wildcard ? '127.0.0.1' : listening.family === 'IPv6' ? `[${listening.address}]` : listening.address;
  return `http://${host}:${listening.port}`;
}
