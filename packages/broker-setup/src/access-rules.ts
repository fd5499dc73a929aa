import {
  CONSUMING_SERVICES,
  DOMAIN_EXCHANGE,
  UNROUTABLE_EXCHANGE,
  UNROUTABLE_QUEUE,
  bindsRoutingKey,
  eventFlow,
  type EventFlow,
} from '@onboarding/contracts';

/** One service's rights on the broker, as RabbitMQ permissions (regular expressions) for one vhost. */
export interface ServiceAccess {
  service: string;
  /** The broker user: the service's name, after the deployment's prefix (empty in production). */
  user: string;
  configure: string;
  write: string;
  read: string;
  /** Topic permissions on the domain exchange: the routing keys the service may publish (write) and bind (read). */
  topic: { exchange: string; write: string; read: string };
}

/** A regular expression matching exactly these names (and nothing, when there are none). */
function exactly(names: readonly string[]): string {
  if (names.length === 0) return '^$';
  return `^(${[...names].sort().map(escape).join('|')})$`;
}

function escape(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Everything the service owns on the broker: its queue and what is named after it (retry and parking queues, the redirect exchange). */
function owned(queue: string): string {
  return `${escape(queue)}(\\..*)?`;
}

/**
 * The service that erases a driver's data also removes that driver's events from the unroutable queue
 * (services/driver's erasure), so it may read that queue (basic.get; acknowledging needs nothing more).
 */
const UNROUTABLE_CLEANER = 'driver';

function keys(flow: Readonly<Record<string, EventFlow>>, take: (entry: EventFlow, routingKey: string) => boolean): string[] {
  return Object.entries(flow)
    .filter(([routingKey, entry]) => take(entry, routingKey))
    .map(([routingKey]) => routingKey);
}

/**
 * Least privilege, derived from the contracts' event flow so it cannot drift from what the services do:
 * - configure only on the service's own objects, never on the shared exchange or the unroutable queue, which
 *   the broker set-up declares;
 * - write on its own objects (retries and parking go through its own redirect exchange) and the domain
 *   exchange, never on the default exchange (so it cannot drop a message into another service's queue);
 * - read on its own objects and the domain exchange (binding needs it), and for the driver service the
 *   unroutable queue, which its erasure cleans;
 * - topic permissions: publish only the routing keys it produces, bind only the keys it consumes (or consumed
 *   in an earlier version, so it can remove that binding); an auditor (`EVENT_AUDITORS`: operations) binds every
 *   key and, producing none, publishes nothing.
 */
export function serviceAccess(service: string, prefix = '', flow: Readonly<Record<string, EventFlow>> = eventFlow): ServiceAccess {
  const entry = CONSUMING_SERVICES.find((candidate) => candidate.name === service);
  if (!entry) throw new Error(`${service} is not a service that uses the broker`);
  const own = owned(entry.queue);
  const exchange = escape(DOMAIN_EXCHANGE);
  return {
    service,
    user: `${prefix}${service}`,
    configure: `^${own}$`,
    write: `^(${own}|${exchange})$`,
    read: service === UNROUTABLE_CLEANER ? `^(${own}|${exchange}|${escape(UNROUTABLE_QUEUE)})$` : `^(${own}|${exchange})$`,
    topic: {
      exchange: DOMAIN_EXCHANGE,
      write: exactly(keys(flow, (flowEntry) => flowEntry.producer === service)),
      read: exactly(keys(flow, (_flowEntry, routingKey) => bindsRoutingKey(service, routingKey, flow))),
    },
  };
}

/** The objects no service owns: the domain exchange, its alternate exchange and the queue that keeps unroutable events. */
export function sharedObjects(vhost: string) {
  return {
    exchanges: [
      { name: UNROUTABLE_EXCHANGE, vhost, type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} },
      {
        name: DOMAIN_EXCHANGE,
        vhost,
        type: 'topic',
        durable: true,
        auto_delete: false,
        internal: false,
        arguments: { 'alternate-exchange': UNROUTABLE_EXCHANGE },
      },
    ],
    queues: [{ name: UNROUTABLE_QUEUE, vhost, durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum' } }],
    bindings: [{ source: UNROUTABLE_EXCHANGE, vhost, destination: UNROUTABLE_QUEUE, destination_type: 'queue', routing_key: '', arguments: {} }],
  };
}

/**
 * The broker's own delivery limit on the work queues and the unroutable queue: above the consumers' limit
 * (`MESSAGE_DELIVERY_LIMIT`, at most 50), so it only ever acts if a consumer's limit did not. RabbitMQ 4 gives every
 * quorum queue a default limit of 20 that drops a message (without a dead-letter exchange); this policy replaces
 * it, and dead-letters instead, through the service's own redirect exchange (`<queue>.redirect`, the names
 * packages/messaging's topology gives) into its `<queue>.parked` queue, which the consumer empties into its
 * parked-message table (reason `delivery-limit`); the unroutable queue's into the driver service's, which keeps
 * unroutable events. Not back into the queue itself: RabbitMQ treats that as a dead-letter cycle without a
 * rejection and drops the message (at-most-once) or holds it undeliverable (at-least-once), as tried on 3.10.8.
 * At-least-once dead-lettering (RabbitMQ 3.10+) so a dead-lettered message is not lost on the way.
 */
export const BROKER_DELIVERY_LIMIT = 100;

export function deliveryLimitPolicies(vhost: string) {
  const definition = (deadLetterExchange: string, deadLetterRoutingKey?: string) => ({
    'delivery-limit': BROKER_DELIVERY_LIMIT,
    'dead-letter-exchange': deadLetterExchange,
    ...(deadLetterRoutingKey === undefined ? {} : { 'dead-letter-routing-key': deadLetterRoutingKey }),
    'dead-letter-strategy': 'at-least-once',
    // At-least-once dead-lettering requires it; without a length limit it never refuses anything.
    overflow: 'reject-publish',
  });
  const unroutableKeeperQueue = CONSUMING_SERVICES.find((entry) => entry.name === UNROUTABLE_CLEANER)!.queue;
  return [
    ...CONSUMING_SERVICES.map((entry) => ({
      vhost,
      name: `${entry.queue}.delivery-limit`,
      pattern: `^${escape(entry.queue)}$`,
      'apply-to': 'queues',
      priority: 10,
      definition: definition(`${entry.queue}.redirect`, `${entry.queue}.parked`),
    })),
    {
      vhost,
      name: `${UNROUTABLE_QUEUE}.delivery-limit`,
      pattern: `^${escape(UNROUTABLE_QUEUE)}$`,
      'apply-to': 'queues',
      priority: 10,
      definition: definition(`${unroutableKeeperQueue}.redirect`, `${unroutableKeeperQueue}.parked`),
    },
  ];
}

export interface ServiceCredentials {
  service: string;
  password: string;
}

export interface BrokerDefinitions {
  users: { name: string; password: string; tags: string[] }[];
  vhosts: { name: string }[];
  permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
  topic_permissions: { user: string; vhost: string; exchange: string; write: string; read: string }[];
  exchanges: ReturnType<typeof sharedObjects>['exchanges'];
  queues: ReturnType<typeof sharedObjects>['queues'];
  bindings: ReturnType<typeof sharedObjects>['bindings'];
  policies: ReturnType<typeof deliveryLimitPolicies>;
}

/**
 * RabbitMQ definitions (the format `rabbitmqctl import_definitions` and the management API's
 * `POST /api/definitions` read) for one vhost: the shared objects, and a user per service with its
 * permissions. The passwords are the ones given, which come from the deployment's secrets: they are never
 * written to a file of the repository. Importing is idempotent and sets each user's password again.
 */
export function brokerDefinitions(options: { vhost: string; prefix?: string; services: readonly ServiceCredentials[] }): BrokerDefinitions {
  const access = options.services.map(({ service }) => serviceAccess(service, options.prefix ?? ''));
  return {
    users: options.services.map(({ service, password }) => ({ name: `${options.prefix ?? ''}${service}`, password, tags: [] })),
    vhosts: [{ name: options.vhost }],
    permissions: access.map(({ user, configure, write, read }) => ({ user, vhost: options.vhost, configure, write, read })),
    topic_permissions: access.map(({ user, topic }) => ({ user, vhost: options.vhost, ...topic })),
    ...sharedObjects(options.vhost),
    policies: deliveryLimitPolicies(options.vhost),
  };
}
