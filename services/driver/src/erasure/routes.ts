import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { DriverIdParams, ErasureView, Problem } from '@onboarding/contracts';
import { AppError, forwardedCaller } from '@onboarding/service-kit';
import { ruleToProblem } from '../drivers/driver-lifecycle';
import { correlationOf } from '../drivers/routes';
import { DriverErasure } from './driver-erasure';
import { eraseDriver } from './erase-driver';

/**
 * The erasure API, admin only (the rule is on DriverErasure, with the role the gateway verified): POST starts
 * it and answers with the audit record (202 the first time, 200 when it was already asked for), GET follows it
 * until every service has confirmed.
 */
export async function erasureRoutes(app: FastifyInstance, { orm }: { orm: MikroORM }): Promise<void> {
  app.post<{ Params: DriverIdParams }>(
    '/v1/drivers/:id/erasure',
    { schema: { params: DriverIdParams, response: { 200: ErasureView, 202: ErasureView, 403: Problem, 404: Problem, 409: Problem } } },
    async (request, reply) => {
      const { erasure, created } = await eraseDriver(
        orm.em.fork(),
        request.params.id,
        forwardedCaller(request.headers),
        correlationOf(request.headers),
      );
      return reply
        .status(created ? 202 : 200)
        .header('location', `/v1/drivers/${erasure.driverId}/erasure`)
        .send(erasure.toView());
    },
  );

  app.get<{ Params: DriverIdParams }>(
    '/v1/drivers/:id/erasure',
    { schema: { params: DriverIdParams, response: { 200: ErasureView, 403: Problem, 404: Problem } } },
    async (request) => {
      try {
        DriverErasure.authorise(forwardedCaller(request.headers));
      } catch (err) {
        ruleToProblem(err);
      }
      const erasure = await orm.em.fork().findOne(DriverErasure, { driverId: request.params.id });
      if (!erasure) throw AppError.notFound(`No erasure was asked for driver ${request.params.id}`);
      return erasure.toView();
    },
  );
}
