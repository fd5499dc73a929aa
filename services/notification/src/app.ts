import type { Logger } from 'pino';
import { Broker, MessageConsumer, OutboxMessageSchema } from '@onboarding/messaging';
import { ServiceHost, ServiceMetrics, createHttpServer, createLogger, openDatabase, retryDelays } from '@onboarding/service-kit';
import { adminRecipients, type NotificationConfig } from './config';
import { migrations } from './migrations';
import { NotificationSchema } from './notifications/notification';
import { RecipientSchema, syncRecipients } from './notifications/recipient';
import { NotificationStream } from './notifications/live-stream';
import { onDriverActivated } from './notifications/on-driver-activated';
import { onDriverRegistrationFailed } from './notifications/on-driver-registration-failed';
import { notificationRoutes } from './notifications/routes';

export const SERVICE_NAME = 'notification';
export const NOTIFICATION_QUEUE = 'notification.events';

export interface NotificationApp {
  host: ServiceHost;
  logger: Logger;
}

/** The composition root: config in, a wired service out (tests call it with their own config). */
export async function buildNotificationApp(
  config: NotificationConfig,
  logger = createLogger(SERVICE_NAME, config.LOG_LEVEL),
): Promise<NotificationApp> {
  const orm = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    schema: config.NOTIFICATION_DB_SCHEMA,
    entities: [RecipientSchema, NotificationSchema, OutboxMessageSchema],
    migrations,
    logger,
  });
  await syncRecipients(orm, adminRecipients(config));
  const metrics = new ServiceMetrics(SERVICE_NAME);
  const broker = new Broker({ url: config.AMQP_URL, connectionName: SERVICE_NAME, logger });
  const consumer = new MessageConsumer({
    service: SERVICE_NAME,
    queue: NOTIFICATION_QUEUE,
    schema: config.NOTIFICATION_DB_SCHEMA,
    broker,
    orm,
    handlers: [onDriverActivated, onDriverRegistrationFailed],
    logger,
    prefetch: config.CONSUMER_PREFETCH,
    observer: metrics,
    retryDelaysMs: retryDelays(config),
  });
  const stream = new NotificationStream(orm, { databaseUrl: config.DATABASE_URL, schema: config.NOTIFICATION_DB_SCHEMA, logger });
  const http = createHttpServer({ logger });
  await http.register(notificationRoutes, { orm, stream });
  const host = new ServiceHost({ name: SERVICE_NAME, logger, http, orm, broker, metrics, consumers: [consumer], workers: [stream] });
  return { host, logger };
}
