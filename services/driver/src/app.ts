import { UNROUTABLE_QUEUE, messaging, messagingTables, waitingMessagesOf } from '@onboarding/messaging';
import { defineService, numberList, route } from '@onboarding/service-kit';
import { DRIVER, DriverEnv } from './config';
import { DriverSchema } from './drivers/driver';
import { DriverHistoryEntrySchema } from './drivers/driver-history';
import { onAccountCreated } from './drivers/on-account-created';
import { onAccountCreationFailed } from './drivers/on-account-creation-failed';
import { onAccountDeleted } from './drivers/on-account-deleted';
import { onAccountUpdated } from './drivers/on-account-updated';
import { driverRoutes } from './drivers/routes';
import { SagaMetrics } from './drivers/saga-metrics';
import { SagaTimeoutSweeper } from './drivers/timeout-sweeper';
import { DriverErasureSchema } from './erasure/driver-erasure';
import { onIdentityDriverDataErased, onMailerDriverDataErased, onNotificationDriverDataErased } from './erasure/on-driver-data-erased';
import { onDriverErased } from './erasure/on-driver-erased';
import { erasureRoutes } from './erasure/routes';
import { migrations } from './migrations';

/** The composition root: what the driver service is; the chassis wires and runs it. */
export const driverService = defineService({
  entry: DRIVER,
  env: DriverEnv,
  database: { entities: [DriverSchema, DriverHistoryEntrySchema, DriverErasureSchema], migrations, modules: [messagingTables] },
  compose: (context) => {
    const { config, orm, logger } = context;
    const saga = new SagaMetrics(context.metrics.registry);
    const events = messaging(context, {
      handlers: [
        onAccountCreated(saga),
        onAccountCreationFailed(saga),
        onAccountUpdated,
        onAccountDeleted,
        // The unroutable queue is shared; the driver service, which owns erasure, is the one that cleans it.
        onDriverErased(waitingMessagesOf(context, [UNROUTABLE_QUEUE])),
        onIdentityDriverDataErased,
        onMailerDriverDataErased,
        onNotificationDriverDataErased,
      ],
      publishes: true,
      prefetch: config.CONSUMER_PREFETCH,
      // The broker set-up lets the driver service read the unroutable queue: it keeps those events parked.
      keepsUnroutable: true,
    });
    return {
      routes: [
        route(driverRoutes, {
          orm,
          registeredVersions: numberList(config.PUBLISH_REGISTERED_VERSIONS),
          // The registration is one raw statement, which the ORM's commit events do not see: it hands its rows over.
          publishCommitted: (rows) => events.publishCommitted(rows),
        }),
        route(erasureRoutes, { orm }),
      ],
      components: [events],
      workers: [new SagaTimeoutSweeper(orm, { deadlineMs: config.SAGA_TIMEOUT_MS, intervalMs: config.SAGA_SWEEP_INTERVAL_MS, logger, saga })],
    };
  },
});
