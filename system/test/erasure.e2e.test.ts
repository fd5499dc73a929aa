import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import amqplib from 'amqplib';
import pg from 'pg';
import { createEnvelope, DriverActivatedV1, type ErasureView } from '@onboarding/contracts';
import { loadGatewayConfig, signDevToken } from '@onboarding/gateway';
import { DOMAIN_EXCHANGE, listParked, platformParkedTables, replayParked } from '@onboarding/messaging';
import { GraphFake, eventually } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

/**
 * Erasure through the whole platform (five processes, real PostgreSQL and RabbitMQ, identity on the Graph
 * fake): after `npm run erase -- --driver ID --wait`, no row of any table in any schema and no message in any
 * queue of the vhost contains the driver's address, the B2C account is gone for good, and the audit record
 * names no one.
 */
const CLI = join(__dirname, '..', 'dist', 'cli', 'erase.js');
const fixture = new LocalPlatform();
const graph = new GraphFake();

beforeAll(async () => {
  await graph.start();
  await fixture.start('erasure', { env: graph.identityEnvironment() });
}, 120_000);

afterAll(async () => {
  await fixture.stop();
  await graph.stop();
});

function erase(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, GATEWAY_URL: fixture.system.gatewayUrl }, timeout: 90_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

/** Every row of every table in every schema of the platform's database, as text, that contains `needle`. */
async function rowsContaining(needle: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: fixture.databaseUrl });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ schema: string; name: string }>(
      `select table_schema as schema, table_name as name from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
    );
    expect(tables.length).toBeGreaterThan(8); // the scan really sees the services' tables
    const found: string[] = [];
    for (const { schema, name } of tables) {
      const { rows } = await client.query<{ row: string }>(`select t::text as row from "${schema}"."${name}" t where lower(t::text) like $1`, [
        `%${needle.toLowerCase()}%`,
      ]);
      found.push(...rows.map((row) => `${schema}.${name}: ${row.row}`));
    }
    return found;
  } finally {
    await client.end();
  }
}

/** Every message of every queue in the vhost (read unacknowledged and handed back) whose body or headers contain `needle`. */
async function messagesContaining(needle: string): Promise<string[]> {
  const vhost = decodeURIComponent(new URL(fixture.amqpUrl).pathname.slice(1));
  // Every queue the broker has in the vhost, not a list of the names we expect (rabbitmqctl: the local broker).
  const { stdout } = await promisify(execFile)('rabbitmqctl', ['-q', 'list_queues', '-p', vhost, 'name', '--no-table-headers'], { timeout: 30_000 });
  const queues = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  expect(queues).toContain('onboarding.unroutable');
  const connection = await amqplib.connect(fixture.amqpUrl);
  const found: string[] = [];
  try {
    for (const queue of queues) {
      const channel = await connection.createChannel();
      for (let i = 0; i < 10_000; i += 1) {
        const message = await channel.get(queue, { noAck: false });
        if (!message) break;
        const text = `${message.content.toString('utf8')} ${JSON.stringify(message.properties.headers ?? {})}`;
        if (text.toLowerCase().includes(needle.toLowerCase())) found.push(`${queue}: ${text.slice(0, 200)}`);
      }
      await channel.close(); // hands every message back
    }
  } finally {
    await connection.close();
  }
  return found;
}

describe('erasure of a driver (five processes, real PostgreSQL and RabbitMQ, the Graph fake)', () => {
  it('leaves no trace of the driver’s address in any table or queue, deletes the B2C account for good, and keeps an audit record', async () => {
    const email = `erase.me.${Date.now()}@example.com`;
    const registered = await fixture.api('POST', '/v1/drivers', { firstName: 'Erin', lastName: 'Erased', email, phone: '+44 20 7946 0111' });
    expect(registered.status).toBe(202);
    const id = registered.body.id as string;
    const active = await eventually(
      async () => {
        const driver = await fixture.api('GET', `/v1/drivers/${id}`);
        return driver.body.status === 'ACTIVE' ? driver.body : undefined;
      },
      { timeoutMs: 30_000, description: 'driver ACTIVE' },
    );
    const objectId = active.b2cObjectId as string;
    await eventually(() => fixture.mail.mailsTo(email).length === 1, { timeoutMs: 30_000, description: 'welcome mail' });
    await eventually(async () => (await fixture.notificationsFor(id)).length > 0, { timeoutMs: 30_000, description: 'notification' });

    // Parked with the address in it: an activation that breaks its contract, in the mailer's queue; and an
    // event nobody is bound for, in the unroutable queue.
    const connection = await amqplib.connect(fixture.amqpUrl);
    const channel = await connection.createConfirmChannel();
    const broken = createEnvelope(DriverActivatedV1, { driverId: id, email } as unknown as DriverActivatedV1, {
      source: 'driver',
      subject: id,
      correlationId: 'erasure-e2e',
    });
    channel.publish(DOMAIN_EXCHANGE, DriverActivatedV1.routingKey, Buffer.from(JSON.stringify(broken)), { messageId: broken.id, persistent: true });
    channel.publish(DOMAIN_EXCHANGE, 'driver.unheard-of.v1', Buffer.from(JSON.stringify({ ...broken, type: 'driver.unheard-of' })), {
      persistent: true,
    });
    await channel.waitForConfirms();
    await connection.close();
    // Both end in parked-message tables: the broken activation in the mailer's, the notification service's (both
    // consume activations) and operations' (which keeps a copy of every event), the unroutable event in the driver
    // service's (which keeps the unroutable queue).
    const parkedTables = platformParkedTables(fixture.databaseUrl);
    const parkedOf = async () => (await listParked(parkedTables)).filter((message) => message.payload.includes(id));
    await eventually(async () => (await parkedOf()).length === 4, {
      timeoutMs: 30_000,
      description: 'the broken activation and the unroutable event parked',
    });
    expect((await parkedOf()).map((message) => `${message.service} ${message.reason} ${String(message.personalDataKept)}`).sort()).toEqual([
      'driver unroutable true',
      'mailer schema-validation true',
      'notification schema-validation true',
      'operations schema-validation true',
    ]);
    expect((await rowsContaining(email)).length).toBeGreaterThan(0); // the scan finds the address before erasure

    // A dispatcher may not erase.
    const config = loadGatewayConfig({});
    const dispatcher = await signDevToken({
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      role: 'dispatcher',
    });
    const refused = await fetch(`${fixture.system.gatewayUrl}/v1/drivers/${id}/erasure`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dispatcher}` },
    });
    expect(refused.status).toBe(403);
    expect((await fixture.api('GET', `/v1/drivers/${id}`)).status).toBe(200);

    const result = await erase(['--driver', id, '--wait', '--timeout=60']);
    expect(result.stderr).toContain('started');
    expect(result.code).toBe(0);
    const record = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ErasureView;
    expect(record).toMatchObject({ driverId: id, status: 'COMPLETE', requestedBy: 'erase-cli' });
    expect(record.services.map((entry) => entry.service).sort()).toEqual(['driver', 'identity', 'mailer', 'notification']);
    expect(record.services.every((entry) => entry.erasedAt !== null)).toBe(true);
    expect(JSON.stringify(record).toLowerCase()).not.toContain('erin');

    // The parked rows stay, scrubbed, for the operator to see; a replay of them is refused (the address is gone).
    // Operations forgets its copy too, though the erasure does not wait for it (an auditor does not confirm): eventually.
    const parkedAfter = await eventually(
      async () => {
        const rows = (await parkedOf()).map((message) => `${message.service} ${message.reason} ${String(message.personalDataKept)}`).sort();
        return rows.every((row) => row.endsWith(' false')) ? rows : undefined;
      },
      { timeoutMs: 10_000, description: "operations' parked copy forgotten" },
    );
    expect(parkedAfter).toEqual([
      'driver unroutable false',
      'mailer schema-validation false',
      'notification schema-validation false',
      'operations schema-validation false',
    ]);
    expect(await rowsContaining(email)).toEqual([]);
    expect(await messagesContaining(email)).toEqual([]);
    const replay = await replayParked({ ...parkedTables, amqpUrl: fixture.amqpUrl, messageId: broken.id });
    expect(replay.replayed).toEqual([]);
    expect(replay.refused.map((refusal) => refusal.why)).toEqual([
      expect.stringMatching(/personal data was erased/),
      expect.stringMatching(/personal data was erased/),
      expect.stringMatching(/personal data was erased/),
    ]);
    expect(graph.users.has(objectId)).toBe(false);
    expect(graph.deletedItems.has(objectId)).toBe(false);
    expect((await fixture.api('GET', `/v1/drivers/${id}`)).status).toBe(404);
    expect((await fixture.api('GET', `/v1/drivers/${id}/erasure`)).body).toMatchObject({ status: 'COMPLETE' });
  });
});
