/**
 * The platform's one list of services: name, default port, the queue it consumes from, the database schema it
 * owns and the public routes the gateway sends to it. The launcher, the gateway, the chaos run, the bench and
 * the deployment checks all read this list; adding a service is adding one entry here (and its folder).
 *
 * It lives with the contracts because it is what every deployable agrees on, like the event contracts: no
 * service reads another's code, but each may know another's name, port and public route prefix.
 */
/** The roles a token may carry; the gateway verifies them and forwards them to the services (see service-kit's forwarded caller). */
export const API_ROLES = ['admin', 'dispatcher'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export interface PublicRoute {
  /** Path prefix under which the gateway forwards requests to the service unchanged. */
  readonly prefix: `/v1/${string}`;
  /** Roles whose tokens may use the prefix; any other role gets 403 at the gateway. */
  readonly roles: readonly ApiRole[];
}

export interface ServiceEntry {
  readonly name: string;
  /** Default HTTP port (`PORT` overrides it); the launcher and the deployment manifests use the same. */
  readonly port: number;
  /** The durable queue the service consumes its events from; absent for a service without a broker. */
  readonly queue?: string;
  /** The database schema the service owns; absent for a stateless service. */
  readonly schema?: string;
  /** What the gateway exposes of it. */
  readonly routes: readonly PublicRoute[];
}

export const SERVICES = [
  { name: 'driver', port: 8081, queue: 'driver.events', schema: 'driver', routes: [{ prefix: '/v1/drivers', roles: ['admin', 'dispatcher'] }] },
  { name: 'identity', port: 8082, queue: 'identity.events', schema: 'identity', routes: [{ prefix: '/v1/identity', roles: ['admin'] }] },
  { name: 'mailer', port: 8083, queue: 'mailer.events', schema: 'mailer', routes: [] },
  {
    name: 'notification',
    port: 8084,
    queue: 'notification.events',
    schema: 'notification',
    routes: [{ prefix: '/v1/notifications', roles: ['admin'] }],
  },
  {
    name: 'operations',
    port: 8085,
    queue: 'operations.events',
    schema: 'operations',
    routes: [{ prefix: '/v1/operations', roles: ['admin'] }],
  },
  { name: 'gateway', port: 8080, routes: [] },
] as const satisfies readonly ServiceEntry[];

export type ServiceName = (typeof SERVICES)[number]['name'];

/** The entry of a named service (typed: a misspelt name does not compile). */
export function service<N extends ServiceName>(name: N): Extract<(typeof SERVICES)[number], { name: N }> {
  const entry = SERVICES.find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`unknown service ${name}`);
  return entry as Extract<(typeof SERVICES)[number], { name: N }>;
}

/** The services behind the gateway, in start order (the gateway starts last). */
export const BACKEND_SERVICES = SERVICES.filter((entry) => entry.name !== 'gateway');

/** The services that consume from the broker, each with its queue. */
export const CONSUMING_SERVICES = SERVICES.filter((entry): entry is Extract<(typeof SERVICES)[number], { queue: string }> => 'queue' in entry);

/** The environment variable that points the gateway (and the launcher) at a service: `DRIVER_URL`, … */
export const serviceUrlVariable = (name: ServiceName): string => `${name.toUpperCase()}_URL`;
