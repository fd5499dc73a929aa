import type { FilterQuery, MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import {
  DriverHistory,
  DriverIdParams,
  DriverListQuery,
  DriverPage,
  DriverView,
  Problem,
  RegisterDriverBody,
  UpdateDriverBody,
} from '@onboarding/contracts';
import { AppError, forwardedCaller, keysetCursor } from '@onboarding/service-kit';
import { Driver } from './driver';
import { DriverHistoryEntry } from './driver-history';
import { deleteDriver, updateDriver } from './driver-lifecycle';
import { registerDriver } from './register-driver';
import type { CommittedOutboxRow } from '@onboarding/messaging';

// One cursor per order: a position in one order means nothing in the other, so such a cursor is refused.
const driversCursor = { oldest: keysetCursor('drivers'), newest: keysetCursor('drivers, newest first') };

export interface DriverRoutesOptions {
  orm: MikroORM;
  /** Major versions of `driver.registered` to publish (both while consumers migrate from v1 to v2). */
  registeredVersions: readonly number[];
  /** Publishes the outbox rows a commit wrote at once (the messaging component's; its relay is the fallback). */
  publishCommitted: (rows: readonly CommittedOutboxRow[]) => void;
}

/**
 * The driver HTTP API; the gateway exposes it unchanged under `/v1/drivers`. Who calls comes from the headers
 * the gateway sets after verifying the token (forwardedCaller): the service is reachable only from the gateway,
 * which strips any copy a client sends.
 */
export async function driverRoutes(app: FastifyInstance, { orm, registeredVersions, publishCommitted }: DriverRoutesOptions): Promise<void> {
  app.post<{ Body: RegisterDriverBody }>(
    '/v1/drivers',
    { schema: { body: RegisterDriverBody, response: { 202: DriverView, 400: Problem, 409: Problem } } },
    async (request, reply) => {
      const driver = await registerDriver(
        orm.em.fork(),
        request.body,
        correlationOf(request.headers),
        registeredVersions,
        forwardedCaller(request.headers).subject,
        publishCommitted,
      );
      return reply.status(202).header('location', `/v1/drivers/${driver.id}`).header('etag', `"${driver.version}"`).send(driver.toView());
    },
  );

  app.patch<{ Params: DriverIdParams; Body: UpdateDriverBody }>(
    '/v1/drivers/:id',
    {
      schema: {
        params: DriverIdParams,
        body: UpdateDriverBody,
        response: { 200: DriverView, 400: Problem, 403: Problem, 404: Problem, 409: Problem },
      },
    },
    async (request, reply) => {
      const driver = await updateDriver(
        orm.em.fork(),
        request.params.id,
        request.body,
        correlationOf(request.headers),
        forwardedCaller(request.headers),
      );
      return reply.header('etag', `"${driver.version}"`).send(driver.toView());
    },
  );

  app.delete<{ Params: DriverIdParams }>(
    '/v1/drivers/:id',
    { schema: { params: DriverIdParams, response: { 200: DriverView, 404: Problem, 409: Problem } } },
    async (request) => {
      const driver = await deleteDriver(orm.em.fork(), request.params.id, correlationOf(request.headers), forwardedCaller(request.headers).subject);
      return driver.toView();
    },
  );

  app.get<{ Params: DriverIdParams }>(
    '/v1/drivers/:id',
    { schema: { params: DriverIdParams, response: { 200: DriverView, 404: Problem } } },
    async (request, reply) => {
      const driver = await orm.em.fork().findOne(Driver, request.params.id);
      if (!driver) throw AppError.notFound(`Driver ${request.params.id} does not exist`);
      return reply.header('etag', `"${driver.version}"`).send(driver.toView());
    },
  );

  app.get<{ Params: DriverIdParams }>(
    '/v1/drivers/:id/events',
    { schema: { params: DriverIdParams, response: { 200: DriverHistory, 404: Problem } } },
    async (request) => {
      const em = orm.em.fork();
      const driver = await em.findOne(Driver, request.params.id);
      if (!driver) throw AppError.notFound(`Driver ${request.params.id} does not exist`);
      const entries = await em.find(DriverHistoryEntry, { driver }, { orderBy: { id: 'asc' } });
      return {
        driverId: driver.id,
        items: entries.map((entry) => ({
          type: entry.type,
          at: entry.at.toISOString(),
          status: entry.status,
          ...(entry.detail ? { detail: entry.detail } : {}),
          ...(entry.messageId ? { messageId: entry.messageId } : {}),
          ...(entry.actor ? { actor: entry.actor } : {}),
        })),
      };
    },
  );

  app.get<{ Querystring: DriverListQuery }>(
    '/v1/drivers',
    { schema: { querystring: DriverListQuery, response: { 200: DriverPage, 400: Problem } } },
    async (request) => {
      const { limit = 20, cursor, status, q, order = 'oldest' } = request.query;
      const after = cursor ? driversCursor[order].decode(cursor) : undefined;
      const conditions: FilterQuery<Driver>[] = [];
      // Keyset paging over (created_at, id), backwards for newest first; both directions use the same index.
      const beyond = order === 'newest' ? '$lt' : '$gt';
      if (after) conditions.push({ $or: [{ createdAt: { [beyond]: after.createdAt } }, { createdAt: after.createdAt, id: { [beyond]: after.id } }] });
      if (status) conditions.push({ status });
      if (q) {
        const pattern = `%${escapeLike(q.trim())}%`;
        conditions.push({ $or: [{ firstName: { $ilike: pattern } }, { lastName: { $ilike: pattern } }, { email: { $ilike: pattern } }] });
      }
      const drivers = await orm.em.fork().find(
        Driver,
        { $and: conditions },
        {
          orderBy: [{ createdAt: order === 'newest' ? 'desc' : 'asc' }, { id: order === 'newest' ? 'desc' : 'asc' }],
          limit: limit + 1,
        },
      );
      const page = drivers.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map((driver) => driver.toView()),
        nextCursor: drivers.length > limit && last ? driversCursor[order].encode(last.createdAt, last.id) : null,
      };
    },
  );
}

/** `q` is text to find, not a pattern: its `%`, `_` and `\` match themselves (backslash is ILIKE's escape). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/** The saga's correlation id: the caller's (the gateway passes its request id), else a new one. */
export function correlationOf(headers: Record<string, string | string[] | undefined>): string {
  const value = headers['x-correlation-id'];
  const single = Array.isArray(value) ? value[0] : value;
  return single && /^[\w.:-]{1,128}$/.test(single) ? single : randomUUID();
}
