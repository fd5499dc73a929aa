import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { Problem, RegistrationTimeline, TimelineParams, type TimelineParkedMessage } from '@onboarding/contracts';
import { AppError } from '@onboarding/service-kit';
import type { OperationsConfig } from '../config';
import { PARKED_SERVICES, ServiceParked } from '../parked/service-parked';
import { registrationTimeline } from './timeline';

/** Parked messages about one driver asked of each service: a stalled registration has a handful at most. */
const PARKED_PER_SERVICE = 20;

/**
 * `GET /v1/operations/registrations/:driverId/timeline`: the saga of one registration, step by step. While it is not
 * complete, each consuming service is asked (in parallel, within the overview's probe timeout) for its open parked
 * messages about the driver, so the page that shows a missing step also shows why, when a message was parked.
 */
export async function timelineRoutes(app: FastifyInstance, { orm, config }: { orm: MikroORM; config: OperationsConfig }): Promise<void> {
  const services = new ServiceParked(app, config);
  app.get<{ Params: TimelineParams }>(
    '/v1/operations/registrations/:driverId/timeline',
    { schema: { params: TimelineParams, response: { 200: RegistrationTimeline, 400: Problem, 404: Problem } } },
    async (request) => {
      const driverId = request.params.driverId.toLowerCase();
      const timeline = await registrationTimeline(orm.em.fork(), driverId, config.TRACE_UI_URL);
      if (!timeline) throw AppError.notFound(`Operations has no event about driver ${request.params.driverId}`);
      if (timeline.complete) return timeline;
      const answers = await Promise.all(
        PARKED_SERVICES.map((service) =>
          services.list(service, { subject: driverId, state: 'open', limit: PARKED_PER_SERVICE }).then(
            (list) => ({ service, items: list.items }),
            (err: unknown) => {
              request.log.warn({ service, err: err instanceof Error ? err.message : String(err) }, 'parked messages of a driver not listed');
              return { service, items: null };
            },
          ),
        ),
      );
      const parked: TimelineParkedMessage[] = answers
        .flatMap(({ service, items }) =>
          (items ?? []).map(({ id, messageId, type, sourceQueue, reason, error, attempts, parkedAt }) => ({
            service,
            id,
            messageId,
            type,
            sourceQueue,
            reason,
            error,
            attempts,
            parkedAt,
          })),
        )
        .sort((a, b) => a.parkedAt.localeCompare(b.parkedAt));
      return { ...timeline, parked, parkedUnreachable: answers.filter((answer) => answer.items === null).map((answer) => answer.service) };
    },
  );
}
