import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { NotificationPage, PageQuery, Problem } from '@onboarding/contracts';
import { decodeCursor, encodeCursor } from '@onboarding/service-kit';
import { Notification } from './notification';

const NotificationQuery = Type.Composite([
  PageQuery,
  Type.Object({ recipient: Type.Optional(Type.String({ format: 'email' })) }),
], { additionalProperties: false });
type NotificationQuery = Static<typeof NotificationQuery>;

/** Admin notifications, newest first. */
export async function notificationRoutes(app: FastifyInstance, { orm }: { orm: MikroORM }): Promise<void> {
  app.get<{ Querystring: NotificationQuery }>(
    '/v1/notifications',
    { schema: { querystring: NotificationQuery, response: { 200: NotificationPage, 400: Problem } } },
    async (request) => {
      const limit = request.query.limit ?? 20;
      const before = request.query.cursor ? decodeCursor(request.query.cursor) : undefined;
      const where = {
        ...(request.query.recipient ? { recipient: { address: request.query.recipient.toLowerCase() } } : {}),
        ...(before
          ? { $or: [{ createdAt: { $lt: before.createdAt } }, { createdAt: before.createdAt, id: { $lt: before.id } }] }
          : {}),
      };
      const found = await orm.em
        .fork()
        .find(Notification, where, { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], limit: limit + 1 });
      const page = found.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map((notification) => notification.toView()),
        nextCursor: found.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
      };
    },
  );
}
