/** What the bench's bare baseline processes share: their roles, the broker topology and the tables. */

export const BARE_ROLES = ['driver', 'identity', 'mailer', 'notification', 'gateway'] as const;
export type BareRole = (typeof BARE_ROLES)[number];

export const BARE_EXCHANGE = 'bare.events';

/** One quorum queue per consumer, bound like the platform's: the event types each one reads. */
export const BARE_QUEUES = {
  identity: 'bare.identity',
  driver: 'bare.driver',
  mailer: 'bare.mailer',
  notification: 'bare.notification',
} as const;

export const BARE_BINDINGS: readonly [queue: string, routingKey: string][] = [
  [BARE_QUEUES.identity, 'driver.registered.v2'],
  [BARE_QUEUES.driver, 'identity.account.created'],
  [BARE_QUEUES.driver, 'identity.account.creation-failed'],
  [BARE_QUEUES.mailer, 'driver.activated'],
  [BARE_QUEUES.notification, 'driver.activated'],
];

const inbox = 'create table inbox (id uuid primary key, received_at timestamptz not null default now());';
const outbox = `create table outbox (id uuid primary key, routing_key text not null, payload jsonb not null,
  created_at timestamptz not null default now(), published_at timestamptz);`;

/** Each process's tables, in a schema of its own (its connections' search_path), as each service has its own. */
export const BARE_SCHEMAS: Record<Exclude<BareRole, 'gateway'>, string> = {
  driver: `${inbox} ${outbox}
    create table driver (id uuid primary key, email text not null unique, first_name text not null, last_name text not null,
      phone text not null, status text not null, object_id uuid, created_at timestamptz not null default now());`,
  identity: `${inbox} ${outbox}
    create table directory_user (object_id uuid primary key, email text not null unique, driver_id uuid not null);
    create table link (driver_id uuid primary key, object_id uuid not null unique, created_at timestamptz not null default now());`,
  mailer: `${inbox}
    create table sent_mail (message_id uuid primary key, driver_id uuid not null, sent_at timestamptz not null default now());`,
  notification: `${inbox}
    create table notification (id uuid primary key, driver_id uuid not null, kind text not null, created_at timestamptz not null default now());`,
};

/** `url` whose connections use `schema` first. */
export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}
