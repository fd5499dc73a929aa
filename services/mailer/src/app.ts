import type { Logger } from 'pino';
import { Broker, MessageConsumer, OutboxMessageSchema } from '@onboarding/messaging';
import { RemoteCallBreaker, ServiceHost, ServiceMetrics, createHttpServer, createLogger, openDatabase, retryDelays } from '@onboarding/service-kit';
import type { MailerConfig } from './config';
import { isSmtpRefusal, onDriverActivated } from './mail/on-driver-activated';
import { SentMailSchema } from './mail/sent-mail';
import { SmtpMailer } from './mail/smtp-mailer';
import { migrations } from './migrations';

export const SERVICE_NAME = 'mailer';
export const MAILER_QUEUE = 'mailer.events';

export interface MailerApp {
  host: ServiceHost;
  logger: Logger;
}

/** The composition root: config in, a wired service out (tests call it with their own config). */
export async function buildMailerApp(config: MailerConfig, logger = createLogger(SERVICE_NAME, config.LOG_LEVEL)): Promise<MailerApp> {
  const orm = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    schema: config.MAILER_DB_SCHEMA,
    entities: [SentMailSchema, OutboxMessageSchema],
    migrations,
    logger,
  });
  const mailer = new SmtpMailer(config.SMTP_URL, config.MAIL_FROM);
  const breaker = new RemoteCallBreaker('smtp', logger, {
    timeoutMs: 30_000,
    resetTimeoutMs: config.SMTP_BREAKER_RESET_MS,
    isHealthyFailure: isSmtpRefusal,
  });
  const metrics = new ServiceMetrics(SERVICE_NAME);
  const broker = new Broker({ url: config.AMQP_URL, connectionName: SERVICE_NAME, logger });
  const consumer = new MessageConsumer({
    service: SERVICE_NAME,
    queue: MAILER_QUEUE,
    schema: config.MAILER_DB_SCHEMA,
    broker,
    orm,
    handlers: [onDriverActivated(mailer, breaker, config.MAIL_CLAIM_TTL_MS)],
    logger,
    prefetch: config.CONSUMER_PREFETCH,
    observer: metrics,
    retryDelaysMs: retryDelays(config),
  });
  const http = createHttpServer({ logger });
  const host = new ServiceHost({
    name: SERVICE_NAME,
    logger,
    http,
    orm,
    broker,
    metrics,
    consumers: [consumer],
    breakers: [breaker],
    onStop: async () => mailer.close(),
  });
  return { host, logger };
}
