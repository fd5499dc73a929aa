import type { Logger } from 'pino';
import { OutboxMessageSchema, Broker, MessageConsumer, OutboxRelay } from '@onboarding/messaging';
import { ServiceHost, ServiceMetrics, createHttpServer, createLogger, numberList, openDatabase, retryDelays } from '@onboarding/service-kit';
import type { DriverConfig } from './config';
import { DriverSchema } from './drivers/driver';
import { DriverHistoryEntrySchema } from './drivers/driver-history';
import { onAccountCreated } from './drivers/on-account-created';
import { onAccountCreationFailed } from './drivers/on-account-creation-failed';
import { onAccountDeleted } from './drivers/on-account-deleted';
import { onAccountUpdated } from './drivers/on-account-updated';
import { driverRoutes } from './drivers/routes';
import { SagaTimeoutSweeper } from './drivers/timeout-sweeper';
import { migrations } from './migrations';

export const SERVICE_NAME = 'driver';
export const DRIVER_QUEUE = 'driver.events';

export interface DriverApp {
  host: ServiceHost;
  logger: Logger;
}

/** The composition root: config in, a wired service out (tests call it with their own config). */
export async function buildDriverApp(config: DriverConfig, logger = createLogger(SERVICE_NAME, config.LOG_LEVEL)): Promise<DriverApp> {
  const orm = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    schema: config.DRIVER_DB_SCHEMA,
    entities: [DriverSchema, DriverHistoryEntrySchema, OutboxMessageSchema],
    migrations,
    logger,
  });
  const metrics = new ServiceMetrics(SERVICE_NAME);
  const broker = new Broker({ url: config.AMQP_URL, connectionName: SERVICE_NAME, logger });
  const relay = new OutboxRelay({ databaseUrl: config.DATABASE_URL, schema: config.DRIVER_DB_SCHEMA, broker, logger, observer: metrics });
  const consumer = new MessageConsumer({
    service: SERVICE_NAME,
    queue: DRIVER_QUEUE,
    schema: config.DRIVER_DB_SCHEMA,
    broker,
    orm,
    handlers: [onAccountCreated(metrics), onAccountCreationFailed(metrics), onAccountUpdated, onAccountDeleted],
    logger,
    prefetch: config.CONSUMER_PREFETCH,
    observer: metrics,
    retryDelaysMs: retryDelays(config),
  });
  const http = createHttpServer({ logger });
  await http.register(driverRoutes, { orm, registeredVersions: numberList(config.PUBLISH_REGISTERED_VERSIONS) });
  const sweeper = new SagaTimeoutSweeper(orm, {
    deadlineMs: config.SAGA_TIMEOUT_MS,
    intervalMs: config.SAGA_SWEEP_INTERVAL_MS,
    logger,
    saga: metrics,
  });
  const host = new ServiceHost({ name: SERVICE_NAME, logger, http, orm, broker, metrics, relay, consumers: [consumer], workers: [sweeper] });
  return { host, logger };
}
