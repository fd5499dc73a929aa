import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { brokerAdmin, brokerDefinitions, type BrokerAdmin } from '@onboarding/broker-setup';
import { CONSUMING_SERVICES } from '@onboarding/contracts';

export const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const LOCAL_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

export interface Infrastructure {
  databaseUrl: string;
  amqpUrl: string;
  /** RabbitMQ management API base URL, when the broker has one (containers); else `rabbitmqctl` is used. */
  managementUrl?: string;
  origin: 'testcontainers' | 'environment';
  stop(): Promise<void>;
}

async function dockerAnswers(): Promise<boolean> {
  if (process.env.TEST_INFRA === 'environment') return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/**
 * Real PostgreSQL and RabbitMQ for a test run: Testcontainers where a Docker engine answers, otherwise the
 * servers named by DATABASE_URL / AMQP_URL (the local ones by default).
 */
export async function startInfrastructure(): Promise<Infrastructure> {
  if (await dockerAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
    const [postgres, rabbit] = await Promise.all([
      new PostgreSqlContainer('postgres:16-alpine').start(),
      new RabbitMQContainer('rabbitmq:3.13-management-alpine').start(),
    ]);
    return {
      databaseUrl: postgres.getConnectionUri(),
      amqpUrl: rabbit.getAmqpUrl(),
      managementUrl: `http://guest:guest@${rabbit.getHost()}:${rabbit.getMappedPort(15672)}`,
      origin: 'testcontainers',
      stop: async () => {
        await Promise.all([postgres.stop(), rabbit.stop()]);
      },
    };
  }
  const databaseUrl = process.env.DATABASE_URL || LOCAL_DATABASE_URL;
  const amqpUrl = process.env.AMQP_URL || LOCAL_AMQP_URL;
  await assertPostgresAnswers(databaseUrl);
  return { databaseUrl, amqpUrl, managementUrl: process.env.RABBITMQ_MANAGEMENT_URL, origin: 'environment', stop: async () => undefined };
}

async function assertPostgresAnswers(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(
      `No Docker engine for Testcontainers and PostgreSQL at ${redactUrl(url)} does not answer (${(err as Error).message}). ` +
        'Start it or point DATABASE_URL at one.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

const ENV_DATABASE = 'TEST_DATABASE_URL';
const ENV_AMQP = 'TEST_AMQP_URL';
const ENV_MANAGEMENT = 'TEST_RABBITMQ_MANAGEMENT_URL';

/** Exposes the infrastructure to test workers (jest forks them after global setup, inheriting the env). */
export function exportToEnvironment(infrastructure: Infrastructure): void {
  process.env[ENV_DATABASE] = infrastructure.databaseUrl;
  process.env[ENV_AMQP] = infrastructure.amqpUrl;
  if (infrastructure.managementUrl) process.env[ENV_MANAGEMENT] = infrastructure.managementUrl;
}

function testServerUrls(): { databaseUrl: string; amqpUrl: string; managementUrl?: string } {
  return {
    databaseUrl: process.env[ENV_DATABASE] || process.env.DATABASE_URL || LOCAL_DATABASE_URL,
    amqpUrl: process.env[ENV_AMQP] || process.env.AMQP_URL || LOCAL_AMQP_URL,
    managementUrl: process.env[ENV_MANAGEMENT] || process.env.RABBITMQ_MANAGEMENT_URL,
  };
}

/** Unique, sortable-by-age names so leftovers of crashed runs can be recognised and swept. */
function uniqueName(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '_')
    .slice(0, 20);
  return `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}_${clean}`;
}

function createdAt(name: string): number | undefined {
  const match = /^t_([0-9a-z]+)_/.exec(name);
  return match?.[1] ? parseInt(match[1], 36) : undefined;
}

const STALE_AFTER_MS = 3 * 3600_000;

export interface TestResource {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A fresh, empty database on the test PostgreSQL server; `drop()` removes it. */
export async function createTestDatabase(prefix: string): Promise<TestResource> {
  const { databaseUrl } = testServerUrls();
  const name = uniqueName(prefix);
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await sweepStaleDatabases(admin);
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(databaseUrl, name),
    drop: async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

async function sweepStaleDatabases(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(`select datname from pg_database where datname like 't\\_%'`);
  for (const { datname } of rows) {
    const at = createdAt(datname);
    if (at !== undefined && Date.now() - at > STALE_AFTER_MS) {
      await admin.query(`drop database if exists "${datname}" with (force)`).catch(() => undefined);
    }
  }
}

/** The services that use the broker: each gets a user of its own in every test vhost. */
const BROKER_SERVICES = CONSUMING_SERVICES.map((entry) => entry.name);

export interface TestVhost extends TestResource {
  /** Prepended to each service's user name here (`<vhost>.`), as BROKER_USER_PREFIX would be in a deployment. */
  userPrefix: string;
  /** The URL a service connects with: its own least-privilege user, as deployed (see packages/broker-setup). */
  urlFor(service: string): string;
  /**
   * A user allowed everything on the vhost and tagged `impersonator`, so it may publish with any `user-id`:
   * the tests' stand-in for "the service that owns this event" (and, with a foreign `user-id`, for a forger).
   */
  probeUrl: string;
}

/**
 * A fresh RabbitMQ vhost set up as a deployment's is (the shared exchanges, one least-privilege user per
 * service, from packages/broker-setup), plus an impersonating probe user, in one `rabbitmqctl`/management
 * call; the default test user may do anything there. `drop()` deletes the vhost and the users.
 */
export async function createTestVhost(prefix: string): Promise<TestVhost> {
  const { amqpUrl, managementUrl } = testServerUrls();
  const name = uniqueName(prefix);
  const adminUser = decodeURIComponent(new URL(amqpUrl).username || 'guest');
  const admin = brokerAdmin(managementUrl);
  await sweepStaleVhosts(admin);
  const userPrefix = `${name}.`;
  const passwords = new Map([...BROKER_SERVICES, 'probe'].map((user) => [user, randomBytes(18).toString('hex')]));
  const definitions = brokerDefinitions({
    vhost: name,
    prefix: userPrefix,
    services: BROKER_SERVICES.map((service) => ({ service, password: passwords.get(service)! })),
  });
  const everything = { vhost: name, configure: '.*', write: '.*', read: '.*' };
  await admin.importDefinitions({
    ...definitions,
    users: [...definitions.users, { name: `${userPrefix}probe`, password: passwords.get('probe')!, tags: ['impersonator'] }],
    permissions: [...definitions.permissions, { user: adminUser, ...everything }, { user: `${userPrefix}probe`, ...everything }],
  });
  const url = new URL(amqpUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  const base = url.toString();
  const users = [...passwords.keys()].map((user) => `${userPrefix}${user}`);
  return {
    name,
    url: base,
    userPrefix,
    urlFor: (service) => {
      const password = passwords.get(service);
      if (!password) throw new Error(`no broker user for ${service}`);
      return asUser(base, `${userPrefix}${service}`, password);
    },
    probeUrl: asUser(base, `${userPrefix}probe`, passwords.get('probe')!),
    drop: async () => {
      await Promise.all([admin.deleteVhost(name), admin.deleteUsers(users)]);
    },
  };
}

/** Vhosts (and their users) left by runs that crashed before dropping them. */
async function sweepStaleVhosts(admin: BrokerAdmin): Promise<void> {
  const stale = (await admin.listVhosts()).filter((name) => {
    const at = createdAt(name);
    return at !== undefined && Date.now() - at > STALE_AFTER_MS;
  });
  if (stale.length === 0) return;
  const users = (await admin.listUsers()).filter((user) => stale.some((vhost) => user.startsWith(`${vhost}.`)));
  await Promise.all([...stale.map((vhost) => admin.deleteVhost(vhost)), admin.deleteUsers(users)]);
}

/** `url` with the credentials of another user. */
export function asUser(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** A database and a vhost of its own for one test file. */
export async function isolatedEnvironment(prefix: string): Promise<{
  databaseUrl: string;
  /** The vhost as the test run's administrator sees it (everything allowed): for set-up, checks and operator tools. */
  amqpUrl: string;
  broker: TestVhost;
  drop(): Promise<void>;
}> {
  const [database, vhost] = await Promise.all([createTestDatabase(prefix), createTestVhost(prefix)]);
  return {
    databaseUrl: database.url,
    amqpUrl: vhost.url,
    broker: vhost,
    drop: async () => {
      await Promise.allSettled([database.drop(), vhost.drop()]);
    },
  };
}
