import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

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

/** A fresh RabbitMQ vhost the default test user may use; `drop()` deletes it with everything in it. */
export async function createTestVhost(prefix: string): Promise<TestResource> {
  const { amqpUrl, managementUrl } = testServerUrls();
  const name = uniqueName(prefix);
  const user = decodeURIComponent(new URL(amqpUrl).username || 'guest');
  const admin = managementUrl ? managementApi(managementUrl) : rabbitmqctl();
  await admin.sweep();
  await admin.addVhost(name, user);
  const url = new URL(amqpUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return { name, url: url.toString(), drop: () => admin.deleteVhost(name) };
}

interface VhostAdmin {
  addVhost(name: string, user: string): Promise<void>;
  deleteVhost(name: string): Promise<void>;
  sweep(): Promise<void>;
  addUser(name: string, password: string): Promise<void>;
  setPermissions(vhost: string, user: string, permissions: { configure: string; write: string; read: string }): Promise<void>;
}

export interface BrokerDefinitions {
  users: { name: string; password: string; tags: string[] }[];
  permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
}

/**
 * Applies the users and permissions of a RabbitMQ definitions file (deploy/rabbitmq/definitions.json) to a
 * test vhost, so services can be run with their own least-privilege users.
 */
export async function applyBrokerUsers(vhost: string, definitions: BrokerDefinitions, users: string[]): Promise<void> {
  const { managementUrl } = testServerUrls();
  const admin = managementUrl ? managementApi(managementUrl) : rabbitmqctl();
  for (const name of users) {
    const user = definitions.users.find((candidate) => candidate.name === name);
    const permission = definitions.permissions.find((candidate) => candidate.user === name);
    if (!user || !permission) throw new Error(`definitions have no user or permissions for ${name}`);
    await admin.addUser(user.name, user.password);
    await admin.setPermissions(vhost, user.name, permission);
  }
}

/** `url` with the credentials of another user. */
export function asUser(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

function rabbitmqctl(): VhostAdmin {
  const ctl = (...args: string[]) => run('rabbitmqctl', ['-q', ...args], { timeout: 30_000 });
  return {
    addVhost: async (name, user) => {
      await ctl('add_vhost', name);
      await ctl('set_permissions', '-p', name, user, '.*', '.*', '.*');
    },
    deleteVhost: async (name) => {
      await ctl('delete_vhost', name).catch(() => undefined);
    },
    addUser: async (name, password) => {
      // Users are global to the broker: an existing one (from an earlier run) is reused.
      const { stdout } = await ctl('list_users', '--no-table-headers');
      if (!stdout.split('\n').some((line) => line.split(/\s+/)[0] === name)) await ctl('add_user', name, password);
    },
    setPermissions: async (vhost, user, { configure, write, read }) => {
      await ctl('set_permissions', '-p', vhost, user, configure, write, read);
    },
    sweep: async () => {
      const { stdout } = await ctl('list_vhosts', 'name', '--no-table-headers');
      for (const name of stdout.split('\n').map((line) => line.trim())) {
        const at = createdAt(name);
        if (at !== undefined && Date.now() - at > STALE_AFTER_MS) await ctl('delete_vhost', name).catch(() => undefined);
      }
    },
  };
}

function managementApi(base: string): VhostAdmin {
  const parsed = new URL(base);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
  const origin = `${parsed.protocol}//${parsed.host}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${origin}/api${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok && response.status !== 404) throw new Error(`${method} ${path}: ${response.status}`);
    return response;
  };
  return {
    addVhost: async (name, user) => {
      await call('PUT', `/vhosts/${encodeURIComponent(name)}`);
      await call('PUT', `/permissions/${encodeURIComponent(name)}/${encodeURIComponent(user)}`, {
        configure: '.*',
        write: '.*',
        read: '.*',
      });
    },
    deleteVhost: async (name) => {
      await call('DELETE', `/vhosts/${encodeURIComponent(name)}`);
    },
    sweep: async () => undefined,
    addUser: async (name, password) => {
      await call('PUT', `/users/${encodeURIComponent(name)}`, { password, tags: '' });
    },
    setPermissions: async (vhost, user, permissions) => {
      await call('PUT', `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, permissions);
    },
  };
}

/** A database and a vhost of its own for one test file. */
export async function isolatedEnvironment(prefix: string): Promise<{
  databaseUrl: string;
  amqpUrl: string;
  drop(): Promise<void>;
}> {
  const [database, vhost] = await Promise.all([createTestDatabase(prefix), createTestVhost(prefix)]);
  return {
    databaseUrl: database.url,
    amqpUrl: vhost.url,
    drop: async () => {
      await Promise.allSettled([database.drop(), vhost.drop()]);
    },
  };
}
