import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { eventFlow, type ServiceEntry } from '@onboarding/contracts';
import { retryDelays, type ServiceComponent, type ServiceMetrics } from '@onboarding/service-kit';
import { Broker, brokerUserOf } from './broker';
import { MessageConsumer, type MessageHandler } from './consumer';
import { MessagingMetrics } from './messaging-metrics';
import { OutboxRelay } from './outbox-relay';
import { waitingQueues, type WaitingMessages } from './parking-lot';

/** What the messaging runtime needs of the service it runs in (the chassis' database service context). */
export interface MessagingHost {
  readonly entry: ServiceEntry;
  readonly config: { DATABASE_URL: string; AMQP_URL: string; RETRY_DELAYS_MS: string };
  readonly orm: MikroORM;
  readonly schema: string;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
}

export interface MessagingOptions {
  /** Handlers of the events the service consumes from its queue (the queue named in the service list). */
  handlers: readonly MessageHandler[];
  /** Whether the service writes events to its outbox, so a relay must publish them. */
  publishes: boolean;
  /** Routing keys an earlier version of the service bound and this one no longer handles. */
  retiredRoutingKeys?: readonly string[];
  prefetch?: number;
}

/**
 * The messaging runtime as one chassis component: one broker connection, the outbox relay (for a service
 * that publishes) and the consumer of the service's queue, with their metrics in the service's registry.
 * Started relay first, consumer second; stopped the other way round, the broker connection last.
 */
export function messaging(host: MessagingHost, options: MessagingOptions): ServiceComponent {
  const { entry, config, logger } = host;
  if (!entry.queue) throw new Error(`${entry.name} has no queue in the service list, so it cannot consume`);
  const observer = new MessagingMetrics(host.metrics.registry);
  // Checked before the broker connection exists: a refused start must leave nothing reconnecting behind it.
  const publisherUser = brokerUserNaming(brokerUserOf(config.AMQP_URL), entry.name);
  const broker = new Broker({ url: config.AMQP_URL, connectionName: entry.name, logger });
  const relay = options.publishes ? new OutboxRelay({ databaseUrl: config.DATABASE_URL, schema: host.schema, broker, logger, observer }) : undefined;
  if (relay) observer.watchOutbox(relay);
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
  });
  return {
    name: 'messaging',
    // Observed, not readiness checks: while the broker is away the service still serves its HTTP (use cases stage
    // their events in the outbox, which the relay publishes once it is back), so taking every replica out of the
    // load balancer would turn a broker restart into a full outage.
    observed: {
      broker: () => broker.isConnected(),
      consumer: () => consumer.isConsuming(),
      ...(relay ? { relay: () => relay.isPublishing() } : {}),
    },
    // Resolves once the consumer's queue and bindings are declared, so the service listens (and its startup probe
    // passes) only when the events it consumes have somewhere to go; after that the broker may come and go.
    async start() {
      relay?.start();
      await consumer.start();
    },
    async stop() {
      await consumer.stop();
      await relay?.stop().catch((err: Error) => logger.warn({ err: err.message }, 'relay stop failed'));
      await broker.close().catch((err: Error) => logger.warn({ err: err.message }, 'broker close failed'));
    },
  };
}

/**
 * The queues where messages for a service wait outside its work queue (its retry delay queues and its parking
 * lot, plus `extraQueues`), on the service's broker: what its erasure handler looks through.
 */
export function waitingMessagesOf(host: Pick<MessagingHost, 'entry' | 'config'>, extraQueues: readonly string[] = []): WaitingMessages {
  if (!host.entry.queue) throw new Error(`${host.entry.name} has no queue in the service list`);
  return { amqpUrl: host.config.AMQP_URL, queues: [...waitingQueues(host.entry.queue, retryDelays(host.config)), ...extraQueues] };
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
