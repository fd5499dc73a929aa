import { messaging, messagingTables, waitingMessagesOf } from '@onboarding/messaging';
import { defineService, route } from '@onboarding/service-kit';
import { AuditEventSchema } from './audit/audit-event';
import { onDriverErased } from './audit/on-driver-erased';
import { auditHandlers } from './audit/on-every-event';
import { AuditRetention } from './audit/retention';
import { OPERATIONS, OperationsEnv } from './config';
import { migrations } from './migrations';
import { overviewRoutes } from './overview/routes';
import { parkedViewRoutes } from './parked/routes';
import { timelineRoutes } from './timeline/routes';

/** The composition root: what the operations service is; the chassis wires and runs it. */
export const operationsService = defineService({
  entry: OPERATIONS,
  env: OperationsEnv,
  database: { entities: [AuditEventSchema], migrations, modules: [messagingTables] },
  compose: (context) => {
    const { config, orm, schema, logger } = context;
    const retention = new AuditRetention(
      orm,
      schema,
      {
        retentionDays: config.AUDIT_RETENTION_DAYS,
        operatorActionRetentionDays: config.OPERATOR_ACTION_RETENTION_DAYS,
        intervalMs: config.AUDIT_PURGE_INTERVAL_MS,
        batchSize: config.AUDIT_PURGE_BATCH,
      },
      logger,
    );
    return {
      routes: [
        route(timelineRoutes, { orm, config }),
        route(overviewRoutes, { orm, schema, config }),
        route(parkedViewRoutes, { orm, schema, config }),
      ],
      components: [
        messaging(context, {
          // Every routing key of the catalog: an audit copy of each event. It publishes nothing (no relay).
          handlers: auditHandlers([onDriverErased(waitingMessagesOf(context))]),
          publishes: false,
          prefetch: config.CONSUMER_PREFETCH,
        }),
      ],
      workers: [retention],
      expose: { retention, orm },
    };
  },
});
