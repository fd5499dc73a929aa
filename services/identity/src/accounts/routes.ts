import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { AccountView, DriverIdPathParams, Problem } from '@onboarding/contracts';
import { AppError } from '@onboarding/service-kit';
import { AccountLink } from './account-link';

export async function accountRoutes(app: FastifyInstance, { orm }: { orm: MikroORM }): Promise<void> {
  app.get<{ Params: DriverIdPathParams }>(
    '/v1/identity/accounts/:driverId',
    { schema: { params: DriverIdPathParams, response: { 200: AccountView, 404: Problem } } },
    async (request) => {
      const link = await orm.em.fork().findOne(AccountLink, { driverId: request.params.driverId });
      if (!link) throw AppError.notFound(`No directory account is linked to driver ${request.params.driverId}`);
      if (link.isDeleted()) throw AppError.notFound(`The directory account of driver ${request.params.driverId} was deleted`);
      return link.toView();
    },
  );
}
