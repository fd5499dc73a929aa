import type { Logger } from 'pino';
import { Broker, MessageConsumer, OutboxMessageSchema, OutboxRelay } from '@onboarding/messaging';
import { ServiceHost, createHttpServer, createLogger, openDatabase } from '@onboarding/service-kit';
import { AccountLinkSchema } from './accounts/account-link';
import { onDriverRegistered } from './accounts/on-driver-registered';
import { accountRoutes } from './accounts/routes';
import type { IdentityConfig } from './config';
import type { DirectoryProvider } from './directory/directory';
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
  const directory: DirectoryProvider = new LocalDirectory(orm);
  const broker = new Broker({ url: config.AMQP_URL, connectionName: SERVICE_NAME, logger });
  const relay = new OutboxRelay({ databaseUrl: config.DATABASE_URL, schema: config.IDENTITY_DB_SCHEMA, broker, logger });
  const consumer = new MessageConsumer({
    service: SERVICE_NAME,
    queue: IDENTITY_QUEUE,
    schema: config.IDENTITY_DB_SCHEMA,
    broker,
    orm,
    handlers: [onDriverRegistered(directory)],
    logger,
    prefetch: config.CONSUMER_PREFETCH,
  });
  const http = createHttpServer({ logger });
  await http.register(accountRoutes, { orm });
  const host = new ServiceHost({ name: SERVICE_NAME, logger, http, orm, broker, relay, consumers: [consumer] });
  return { host, logger, directory };
}
