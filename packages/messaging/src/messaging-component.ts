import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { eventFlow, type ServiceEntry } from '@onboarding/contracts';
import { durationMs, retryDelays, type ServiceComponent, type ServiceMetrics } from '@onboarding/service-kit';
import { Broker, brokerUserOf } from './broker';
import { CommittedOutboxPublisher, type CommittedOutboxRow } from './committed-outbox-publisher';
import { CONSUMER_DRAIN_MS, MessageConsumer, type MessageHandler } from './consumer';
import { MessagingMetrics } from './messaging-metrics';
import { publishOutboxAfterCommit } from './outbox-commit-subscriber';
import { OutboxRelay } from './outbox-relay';
import { ParkedRetention } from './parked-retention';
import { settlesWithin } from './pg-listener';
import { parkedRoutes } from './parked-routes';
import { RetentionPurge } from './retention';
import { UnroutableKeeper } from './unroutable-keeper';
import { waitingQueues, type WaitingMessages } from './waiting-queues';

/** What the messaging runtime needs of the service it runs in (the chassis' database service context). */
export interface MessagingHost {
  readonly entry: ServiceEntry;
  readonly config: {
    DATABASE_URL: string;
    AMQP_URL: string;
    RETRY_DELAYS_MS: string;
    MESSAGE_DELIVERY_LIMIT: number;
    PARKED_RETENTION: string;
    PARKED_PERSONAL_DATA_RETENTION: string;
    INBOX_RETENTION_MS: number;
    OUTBOX_RETENTION_MS: number;
  };
  readonly orm: MikroORM;
  readonly schema: string;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
}

export interface MessagingOptions {
  /** Handlers of the events the service consumes from its queue (the queue named in the service list). */
  handlers: readonly MessageHandler[];
  /** Whether the service writes events to its outbox, so they must be published (after commit, and by the relay). */
  publishes: boolean;
  /** Routing keys an earlier version of the service bound and this one no longer handles. */
  retiredRoutingKeys?: readonly string[];
  prefetch?: number;
  /**
   * Consume `onboarding.unroutable` into this service's parked-message table (one service does: the one the broker
   * set-up lets read that queue, the driver service).
   */
  keepsUnroutable?: boolean;
}

/** The messaging component, with the publisher after commit of a service that publishes. */
export interface MessagingComponent extends ServiceComponent {
  /**
   * Publishes outbox rows whose transaction has committed at once (see CommittedOutboxPublisher). The ORM's commits
   * are handed over by themselves; a path that writes outbox rows with its own SQL calls this right after its COMMIT
   * succeeded. A no-op for a service that does not publish, and before start or after stop (the relay publishes).
   */
  publishCommitted(rows: readonly CommittedOutboxRow[]): void;
}

/**
 * The messaging runtime as one chassis component: one broker connection, for a service that publishes the
 * publisher after commit (every ORM commit with outbox rows hands them over) and the relay as its fallback, the
 * consumer of the service's queue and the retention purge of the inbox and outbox, with their metrics in the
 * service's registry. Started publisher, relay, consumer, purge; stopped the other way round, the broker connection
 * last.
 */
export function messaging(host: MessagingHost, options: MessagingOptions): MessagingComponent {
  const { entry, config, logger } = host;
  if (!entry.queue) throw new Error(`${entry.name} has no queue in the service list, so it cannot consume`);
  const observer = new MessagingMetrics(host.metrics.registry);
  const retentionMs = durationMs(config.PARKED_RETENTION);
  const personalDataRetentionMs = durationMs(config.PARKED_PERSONAL_DATA_RETENTION);
  if (personalDataRetentionMs > retentionMs) {
    throw new Error(
      `PARKED_PERSONAL_DATA_RETENTION (${config.PARKED_PERSONAL_DATA_RETENTION}) is longer than PARKED_RETENTION (${config.PARKED_RETENTION}): personal data cannot outlive its row`,
    );
  }
  // Checked before the broker connection exists: a refused start must leave nothing reconnecting behind it.
  const publisherUser = brokerUserNaming(brokerUserOf(config.AMQP_URL), entry.name);
  const broker = new Broker({ url: config.AMQP_URL, connectionName: entry.name, logger });
  const publisher = options.publishes
    ? new CommittedOutboxPublisher({ databaseUrl: config.DATABASE_URL, schema: host.schema, broker, logger, observer })
    : undefined;
  if (publisher) publishOutboxAfterCommit(host.orm, publisher, logger);
  const relay = options.publishes ? new OutboxRelay({ databaseUrl: config.DATABASE_URL, schema: host.schema, broker, logger, observer }) : undefined;
  if (relay) observer.watchOutbox(relay);
  observer.watchParked(async () => {
    const rows = (await host.orm.em
      .fork()
      .getConnection()
      .execute(`select count(*)::int as "open" from "${host.schema}"."parked_message" where "replayed_at" is null and "archived_at" is null`)) as {
      open: number;
    }[];
    return rows[0]?.open ?? 0;
  });
  const consumer = new MessageConsumer({
    service: entry.name,
    queue: entry.queue,
    schema: host.schema,
    broker,
    orm: host.orm,
    handlers: options.handlers,
    retiredRoutingKeys: options.retiredRoutingKeys,
    trustedPublisher: (routingKey) => {
      const producer = eventFlow[routingKey]?.producer;
      return producer === undefined ? undefined : publisherUser(producer);
    },
    logger,
    prefetch: options.prefetch,
    observer,
    retryDelaysMs: retryDelays(config),
    deliveryLimit: config.MESSAGE_DELIVERY_LIMIT,
    // A one-statement commit bypasses the ORM's events, so its rows are handed over here instead of by the subscriber.
    onOutboxCommitted: publisher ? (rows) => publisher.publishCommitted(rows) : undefined,
  });
  const purge = new RetentionPurge({
    orm: host.orm,
    schema: host.schema,
    logger,
    inboxRetentionMs: config.INBOX_RETENTION_MS,
    outboxRetentionMs: config.OUTBOX_RETENTION_MS,
  });
  const retention = new ParkedRetention(host.orm, { schema: host.schema, retentionMs, personalDataRetentionMs, logger });
  const unroutable = options.keepsUnroutable
    ? new UnroutableKeeper({ service: entry.name, schema: host.schema, broker, orm: host.orm, logger })
    : undefined;
  return {
    name: 'messaging',
    // The service's own parked messages over internal HTTP, for operations (never routed by the gateway).
    routes: [parkedRoutes({ service: entry.name, schema: host.schema, databaseUrl: config.DATABASE_URL, amqpUrl: config.AMQP_URL })],
    // Observed, not readiness checks: while the broker is away the service still serves its HTTP (use cases stage
    // their events in the outbox, which the relay publishes once it is back), so taking every replica out of the
    // load balancer would turn a broker restart into a full outage.
    observed: {
      broker: () => broker.isConnected(),
      consumer: () => consumer.isConsuming(),
      ...(relay ? { relay: () => relay.isPublishing() } : {}),
    },
    publishCommitted: (rows) => publisher?.publishCommitted(rows),
    // Resolves once the consumer's queue and bindings are declared, so the service listens (and its startup probe
    // passes) only when the events it consumes have somewhere to go; after that the broker may come and go.
    async start() {
      publisher?.start();
      relay?.start();
      await consumer.start();
      await unroutable?.start();
      retention.start();
      purge.start();
    },
    async stop() {
      // Each step is timed: a step that waits on an unreachable server is what makes a stop overrun its grace period.
      // Each is bounded too, as a last net: the process must exit within its grace period whatever a driver does.
      const step = async (name: string, work: () => Promise<unknown>, boundMs = 5_000) => {
        const started = Date.now();
        if (!(await settlesWithin(work(), boundMs))) logger.error({ step: name, ms: boundMs }, 'messaging stop step did not finish; going on');
        const ms = Date.now() - started;
        if (ms > 1_000) logger.warn({ step: name, ms }, 'messaging stop step was slow');
      };
      // The sweeps and the unroutable keeper share nothing with the consumer: they stop side by side with it, so a cut
      // database costs the longest of their bounded waits, not their sum (which overran the 5 s grace under load).
      await Promise.all([
        step('purge', () => purge.stop()),
        step('parked retention', () => retention.stop()),
        step('unroutable', async () => unroutable?.stop()),
        step('consumer', () => consumer.stop(), CONSUMER_DRAIN_MS + 2_000),
      ]);
      // After the consumer, whose last commits hand their rows over; what the publisher cannot finish, the relay
      // publishes later (this instance's after its restart, or another's). The two share nothing but the broker
      // connection, closed after both, so they stop side by side: each waits on the database when it is cut.
      await Promise.all([
        step('publisher', async () => publisher?.stop().catch((err: Error) => logger.warn({ err: err.message }, 'publisher stop failed'))),
        step('relay', async () => relay?.stop().catch((err: Error) => logger.warn({ err: err.message }, 'relay stop failed'))),
      ]);
      await step('broker', () => broker.close().catch((err: Error) => logger.warn({ err: err.message }, 'broker close failed')));
    },
  };
}

/**
 * The queues where messages for a service wait outside its work queue (its retry delay queues and its parking
 * lot, plus `extraQueues`), on the service's broker: what its erasure handler looks through.
 */
export function waitingMessagesOf(host: Pick<MessagingHost, 'entry' | 'config' | 'schema'>, extraQueues: readonly string[] = []): WaitingMessages {
  if (!host.entry.queue) throw new Error(`${host.entry.name} has no queue in the service list`);
  return {
    amqpUrl: host.config.AMQP_URL,
    queues: [...waitingQueues(host.entry.queue, retryDelays(host.config)), ...extraQueues],
    schema: host.schema,
  };
}

/**
 * Each service connects as its own broker user, named after it: `driver`, `identity`, … in production, with a
 * common prefix where several platforms share a broker (the tests' `<vhost>.driver`). Knowing its own user,
 * a service knows every other service's, so it can check who published an event. A service connected as
 * anyone else (a shared administrator such as `guest`) could check nothing, so it does not start.
 */
export function brokerUserNaming(ownUser: string, service: string): (other: string) => string {
  if (!ownUser.endsWith(service)) {
    throw new Error(
      `AMQP_URL connects as broker user "${ownUser}", not as the ${service} service's own user ("${service}", or a prefix then "${service}"): ` +
        'events could not be checked against their publisher',
    );
  }
  const prefix = ownUser.slice(0, ownUser.length - service.length);
  return (other) => `${prefix}${other}`;
}
