import type { MikroORM } from '@mikro-orm/core';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { Email, NotificationPage, NotificationView, PageQuery, Problem } from '@onboarding/contracts';
import { AppError, keysetCursor } from '@onboarding/service-kit';
import type { NotificationStream } from './live-stream';
import { Notification } from './notification';

const NotificationQuery = Type.Composite([PageQuery, Type.Object({ recipient: Type.Optional(Email) })], {
  additionalProperties: false,
});
type NotificationQuery = Static<typeof NotificationQuery>;

const NotificationIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
type NotificationIdParams = Static<typeof NotificationIdParams>;

const notificationsCursor = keysetCursor('notifications');

/** Comment lines keep the stream (and every proxy on the way) from timing out between notifications. */
const KEEP_ALIVE_MS = 5_000;

/** Admin notifications: newest first, live as Server-Sent Events, and marked read. */
export async function notificationRoutes(app: FastifyInstance, { orm, stream }: { orm: MikroORM; stream: NotificationStream }): Promise<void> {
  const open = new Set<ServerResponse>();
  // Streams never end on their own: end them when the service stops, so shutdown is not held up by them.
  app.addHook('preClose', async () => {
    for (const response of open) response.end();
  });

  app.get('/v1/notifications/stream', async (request, reply) => {
    reply.hijack();
    const raw = reply.raw;
    open.add(raw);
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(': connected\n\n');
    const unsubscribe = stream.subscribe((notification) => {
      raw.write(`id: ${notification.id}\nevent: notification\ndata: ${JSON.stringify(notification)}\n\n`);
    });
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    request.raw.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
      open.delete(raw);
    });
  });

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
