import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { Email, NotificationPage, NotificationView, PageQuery, Problem } from '@onboarding/contracts';
import { AppError, keysetCursor } from '@onboarding/service-kit';
import { Notification } from './notification';

const NotificationQuery = Type.Composite([PageQuery, Type.Object({ recipient: Type.Optional(Email) })], {
  additionalProperties: false,
});
type NotificationQuery = Static<typeof NotificationQuery>;

const NotificationIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
type NotificationIdParams = Static<typeof NotificationIdParams>;

const notificationsCursor = keysetCursor('notifications');

/** Admin notifications: newest first, and marked read (the live stream is `stream-route.ts`). */
export async function notificationRoutes(app: FastifyInstance, { orm }: { orm: MikroORM }): Promise<void> {
  app.post<{ Params: NotificationIdParams }>(
    '/v1/notifications/:id/read',
    { schema: { params: NotificationIdParams, response: { 200: NotificationView, 404: Problem } } },
    async (request) => {
      const em = orm.em.fork();
      const notification = await em.findOne(Notification, request.params.id);
      if (!notification) throw AppError.notFound(`Notification ${request.params.id} does not exist`);
      notification.markRead();
      await em.flush();
      return notification.toView();
    },
  );

  app.get<{ Querystring: NotificationQuery }>(
    '/v1/notifications',
    { schema: { querystring: NotificationQuery, response: { 200: NotificationPage, 400: Problem } } },
    async (request) => {
      const limit = request.query.limit ?? 20;
      const before = request.query.cursor ? notificationsCursor.decode(request.query.cursor) : undefined;
      const where = {
        ...(request.query.recipient ? { recipient: { address: request.query.recipient.toLowerCase() } } : {}),
        ...(before ? { $or: [{ createdAt: { $lt: before.createdAt } }, { createdAt: before.createdAt, id: { $lt: before.id } }] } : {}),
      };
      const found = await orm.em.fork().find(Notification, where, { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], limit: limit + 1 });
      const page = found.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map((notification) => notification.toView()),
        nextCursor: found.length > limit && last ? notificationsCursor.encode(last.createdAt, last.id) : null,
      };
    },
  );
}
