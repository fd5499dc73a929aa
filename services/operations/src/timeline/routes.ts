import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { Problem, RegistrationTimeline, TimelineParams } from '@onboarding/contracts';
import { AppError } from '@onboarding/service-kit';
import { registrationTimeline } from './timeline';

/** `GET /v1/operations/registrations/:driverId/timeline`: the saga of one registration, step by step. */
export async function timelineRoutes(app: FastifyInstance, { orm, traceUiUrl }: { orm: MikroORM; traceUiUrl?: string }): Promise<void> {
  app.get<{ Params: TimelineParams }>(
    '/v1/operations/registrations/:driverId/timeline',
    { schema: { params: TimelineParams, response: { 200: RegistrationTimeline, 400: Problem, 404: Problem } } },
    async (request) => {
      const timeline = await registrationTimeline(orm.em.fork(), request.params.driverId.toLowerCase(), traceUiUrl);
      if (!timeline) throw AppError.notFound(`Operations has no event about driver ${request.params.driverId}`);
      return timeline;
    },
  );
}
