import { execFile } from 'node:child_process';
import { join } from 'node:path';
import amqplib, { type ChannelModel } from 'amqplib';
import pg from 'pg';
import { service } from '@onboarding/contracts';
import { outboxAndInboxTablesSql, redirectExchangeName } from '@onboarding/messaging';
import { createTestDatabase, createTestVhost, type TestResource } from '@onboarding/test-infra';

/**
 * `npm run parked` (the built CLI, as a child process) against parked messages in the services' own tables (a
 * database and a vhost of its own): listing reads the tables and changes nothing however often it runs, a
 * replay publishes exactly the messages its filters name and marks them replayed once, and a refused command
 * line touches nothing.
 */
const CLI = join(__dirname, '..', 'dist', 'cli', 'parked.js');
const IDENTITY = service('identity');
const MAILER = service('mailer');

let vhost: TestResource;
let database: TestResource;
let connection: ChannelModel;
let db: pg.Client;

beforeAll(async () => {
  vhost = await createTestVhost('parked-cli');
  database = await createTestDatabase('parked_cli');
  connection = await amqplib.connect(vhost.url);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  for (const entry of [IDENTITY, MAILER]) {
    await db.query(`create schema "${entry.schema}"`);
    for (const sql of outboxAndInboxTablesSql(entry.schema)) await db.query(sql);
  }
}, 60_000);

afterAll(async () => {
  await connection.close().catch(() => undefined);
  await db.end().catch(() => undefined);
  await vhost.drop();
  await database.drop();
});

/** Fresh work queues behind their redirect exchanges, and two parked rows per service. */
beforeEach(async () => {
  const channel = await connection.createChannel();
  for (const entry of [IDENTITY, MAILER]) {
    await channel.assertExchange(redirectExchangeName(entry.queue), 'direct', { durable: true });
    await channel.assertQueue(entry.queue, { durable: true });
    await channel.bindQueue(entry.queue, redirectExchangeName(entry.queue), entry.queue);
    await channel.purgeQueue(entry.queue);
    await db.query(`delete from "${entry.schema}"."parked_message"`);
    for (const [suffix, reason] of [
      ['a', 'schema-validation'],
      ['b', 'retries-exhausted'],
    ] as const) {
      await db.query(
        `insert into "${entry.schema}"."parked_message" (source_queue, message_id, type, routing_key, reason, error, attempts, payload, parked_by, verified_publisher, properties)
         values ($1, $2, 'driver.registered', 'driver.registered.v2', $3, 'it broke', 3, '{"data":{"email":"REDACTED"}}', $4, 'driver', $5)`,
        [
          entry.queue,
          `${entry.queue}-${suffix}`,
          reason,
          entry.name,
          JSON.stringify({ messageId: `${entry.queue}-${suffix}`, type: 'driver.registered' }),
        ],
      );
    }
  }
  await channel.close();
});

/** The message ids in a queue, left in it: read unacknowledged, then handed back. */
async function idsIn(queue: string): Promise<string[]> {
  const channel = await connection.createChannel();
  const ids: string[] = [];
  for (let i = 0; i < 100; i += 1) {
    const message = await channel.get(queue, { noAck: false });
    if (!message) break;
    ids.push(String(message.properties.messageId));
  }
  await channel.close();
  return ids.sort();
}

/** What is in each work queue, and which rows are still open (neither replayed nor archived) in each table. */
async function everything(): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const entry of [IDENTITY, MAILER]) {
    result[entry.queue] = await idsIn(entry.queue);
    const open = await db.query<{ message_id: string }>(
      `select message_id from "${entry.schema}"."parked_message" where replayed_at is null and archived_at is null order by message_id`,
    );
    result[`${entry.name} open`] = open.rows.map((row) => row.message_id);
  }
  return result;
}

function parked(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, AMQP_URL: vhost.url, DATABASE_URL: database.url }, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}

const untouched = () => ({
  [IDENTITY.queue]: [],
  [MAILER.queue]: [],
  'identity open': [`${IDENTITY.queue}-a`, `${IDENTITY.queue}-b`],
  'mailer open': [`${MAILER.queue}-a`, `${MAILER.queue}-b`],
});

it('list shows every parked message, scrubbed, and listing again and again changes nothing', async () => {
  const first = await parked(['list', '--payload']);
  expect(first.code).toBe(0);
  expect(first.stdout).toContain('4 message(s) parked');
  expect(first.stdout).toContain('"email":"REDACTED"');
  for (let i = 0; i < 3; i += 1) expect((await parked(['list', '--payload'])).stdout).toBe(first.stdout);
  expect(await everything()).toEqual(untouched());
}, 60_000);

it('replay --queue=<one queue> replays that queue only, once', async () => {
  const result = await parked(['replay', `--queue=${IDENTITY.queue}`]);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('2 message(s) replayed');
  expect(await everything()).toEqual({ ...untouched(), [IDENTITY.queue]: [`${IDENTITY.queue}-a`, `${IDENTITY.queue}-b`], 'identity open': [] });
  // The rows say replayed: the same replay again finds nothing to do.
  expect((await parked(['replay', `--queue=${IDENTITY.queue}`])).stdout).toContain('0 message(s) replayed');
  expect(await idsIn(IDENTITY.queue)).toEqual([`${IDENTITY.queue}-a`, `${IDENTITY.queue}-b`]);
  expect((await parked(['list', '--all', `--queue=${IDENTITY.queue}`])).stdout).toMatch(/replayed=/);
}, 60_000);

it('replay --queue Q --reason R replays only the messages of Q parked for R (the old lot name works too)', async () => {
  const result = await parked(['replay', '--queue', `${MAILER.queue}.parked`, '--reason', 'retries-exhausted']);
  expect(result.code).toBe(0);
  expect(await everything()).toEqual({ ...untouched(), [MAILER.queue]: [`${MAILER.queue}-b`], 'mailer open': [`${MAILER.queue}-a`] });
}, 60_000);

it('replay --id=<id> over every table replays that message only', async () => {
  const result = await parked(['replay', `--id=${IDENTITY.queue}-b`]);
  expect(result.code).toBe(0);
  expect(await everything()).toEqual({ ...untouched(), [IDENTITY.queue]: [`${IDENTITY.queue}-b`], 'identity open': [`${IDENTITY.queue}-a`] });
}, 60_000);

it('replay --dry-run names what it would replay and changes nothing', async () => {
  const result = await parked(['replay', '--dry-run', `--queue=${MAILER.queue}`]);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('2 message(s) would be replayed (dry run)');
  expect(result.stdout).not.toContain(IDENTITY.queue);
  expect(await everything()).toEqual(untouched());
}, 60_000);

it('archive takes the selected messages out of the listing without publishing them', async () => {
  const result = await parked(['archive', '--reason', 'schema-validation']);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('2 message(s) archived');
  expect(await everything()).toEqual({ ...untouched(), 'identity open': [`${IDENTITY.queue}-b`], 'mailer open': [`${MAILER.queue}-b`] });
  expect((await parked(['list'])).stdout).toContain('2 message(s) parked');
}, 60_000);

it('replay with an unknown option exits 2 with the usage and changes nothing', async () => {
  const result = await parked(['replay', '--queues', IDENTITY.queue]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/Unknown option '--queues'/);
  expect(result.stderr).toMatch(/^usage: npm run parked/m);
  expect(await everything()).toEqual(untouched());
}, 60_000);
