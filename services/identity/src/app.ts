import type { Logger } from 'pino';
import { Broker, MessageConsumer, OutboxMessageSchema, OutboxRelay } from '@onboarding/messaging';
import { RemoteCallBreaker, ServiceHost, ServiceMetrics, createHttpServer, createLogger, numberList, openDatabase, retryDelays } from '@onboarding/service-kit';
import { AccountLinkSchema } from './accounts/account-link';
import { onActivationRejected } from './accounts/on-activation-rejected';
import { onDriverDeleted } from './accounts/on-driver-deleted';
import { onDriverRegistered } from './accounts/on-driver-registered';
import { onDriverUpdated } from './accounts/on-driver-updated';
import { accountRoutes } from './accounts/routes';
import { graphTokenUrl, type IdentityConfig } from './config';
import { DirectoryRefusal, type DirectoryProvider } from './directory/directory';
import { GraphDirectory } from './directory/graph-directory';
import { LocalDirectory, LocalDirectoryUserSchema } from './directory/local-directory';
import { migrations } from './migrations';

export const SERVICE_NAME = 'identity';
export const IDENTITY_QUEUE = 'identity.events';

export interface IdentityApp {
  host: ServiceHost;
  logger: Logger;
  directory: DirectoryProvider;
}

/** The composition root: config in, a wired service out (tests call it with their own config). */
export async function buildIdentityApp(
  config: IdentityConfig,
  logger = createLogger(SERVICE_NAME, config.LOG_LEVEL),
): Promise<IdentityApp> {
  const orm = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    schema: config.IDENTITY_DB_SCHEMA,
    entities: [AccountLinkSchema, LocalDirectoryUserSchema, OutboxMessageSchema],
    migrations,
    logger,
  });
  const breaker = new RemoteCallBreaker('directory', logger, {
    timeoutMs: config.GRAPH_TIMEOUT_MS + 1_000,
    resetTimeoutMs: config.GRAPH_BREAKER_RESET_MS,
    isHealthyFailure: (err) => err instanceof DirectoryRefusal,
  });
  const directory: DirectoryProvider =
    config.IDENTITY_PROVIDER === 'graph'
      ? new GraphDirectory({
          tenant: config.B2C_TENANT!,
          clientId: config.B2C_CLIENT_ID!,
          clientSecret: config.B2C_CLIENT_SECRET!,
          extensionsAppId: config.B2C_EXTENSIONS_APP_ID!,
          tokenUrl: graphTokenUrl(config),
          baseUrl: config.GRAPH_BASE_URL,
          timeoutMs: config.GRAPH_TIMEOUT_MS,
          breaker,
        })
      : new LocalDirectory(orm);
  const metrics = new ServiceMetrics(SERVICE_NAME);
  const broker = new Broker({ url: config.AMQP_URL, connectionName: SERVICE_NAME, logger });
  const relay = new OutboxRelay({ databaseUrl: config.DATABASE_URL, schema: config.IDENTITY_DB_SCHEMA, broker, logger, observer: metrics });
  const consumer = new MessageConsumer({
    service: SERVICE_NAME,
    queue: IDENTITY_QUEUE,
    schema: config.IDENTITY_DB_SCHEMA,
    broker,
    orm,
    handlers: [
      ...onDriverRegistered(directory, numberList(config.CONSUME_REGISTERED_VERSIONS)),
      onDriverUpdated(directory),
      onDriverDeleted(directory),
      onActivationRejected(directory),
    ],
    logger,
    prefetch: config.CONSUMER_PREFETCH,
    observer: metrics,
    retryDelaysMs: retryDelays(config),
  });
  const http = createHttpServer({ logger });
  await http.register(accountRoutes, { orm });
  const host = new ServiceHost({ name: SERVICE_NAME, logger, http, orm, broker, metrics, relay, consumers: [consumer], breakers: [breaker] });
  return { host, logger, directory };
}
