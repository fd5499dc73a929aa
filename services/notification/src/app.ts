import { messaging, messagingTables, waitingMessagesOf } from '@onboarding/messaging';
import { defineService, route } from '@onboarding/service-kit';
import { NOTIFICATION, NotificationEnv, adminRecipients } from './config';
import { onDriverErased } from './erasure/on-driver-erased';
import { migrations } from './migrations';
import { ActiveRecipients } from './notifications/active-recipients';
import { NotificationSchema } from './notifications/notification';
import { RecipientSchema, syncRecipients } from './notifications/recipient';
import { NotificationStream } from './notifications/live-stream';
import { onDriverActivated } from './notifications/on-driver-activated';
import { onDriverRegistrationFailed } from './notifications/on-driver-registration-failed';
import { notificationRoutes } from './notifications/routes';
import { streamRoute } from './notifications/stream-route';

/** The composition root: what the notification service is; the chassis wires and runs it. */
export const notificationService = defineService({
  entry: NOTIFICATION,
  env: NotificationEnv,
  database: { entities: [RecipientSchema, NotificationSchema], migrations, modules: [messagingTables] },
  compose: async (context) => {
    const { config, orm, logger, schema } = context;
    await syncRecipients(orm, adminRecipients(config));
    const recipients = new ActiveRecipients();
    const stream = new NotificationStream(orm, { databaseUrl: config.DATABASE_URL, schema, logger });
    return {
      routes: [
        route(notificationRoutes, { orm }),
        route(streamRoute, {
          stream,
          limits: { maxOpen: config.STREAM_MAX_OPEN, maxPerSubject: config.STREAM_MAX_PER_SUBJECT, bufferBytes: config.STREAM_BUFFER_BYTES },
        }),
      ],
      components: [
        messaging(context, {
          handlers: [onDriverActivated(recipients), onDriverRegistrationFailed(recipients), onDriverErased(waitingMessagesOf(context))],
          publishes: true, // its erasure confirmations
          prefetch: config.CONSUMER_PREFETCH,
        }),
      ],
      workers: [stream],
    };
  },
});
