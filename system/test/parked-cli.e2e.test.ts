import { execFile } from 'node:child_process';
import { join } from 'node:path';
import amqplib, { type ChannelModel } from 'amqplib';
import { service } from '@onboarding/contracts';
import { parkingQueueName } from '@onboarding/messaging';
import { createTestVhost, type TestResource } from '@onboarding/test-infra';

/**
 * `npm run parked` (the built CLI, as a child process) against real parked messages in a vhost of its own:
 * a replay moves exactly the messages its filters name, and a refused command line moves none.
 */
const CLI = join(__dirname, '..', 'dist', 'cli', 'parked.js');
const IDENTITY = service('identity').queue;
const MAILER = service('mailer').queue;

let vhost: TestResource;
let connection: ChannelModel;

beforeAll(async () => {
  vhost = await createTestVhost('parked-cli');
  connection = await amqplib.connect(vhost.url);
}, 60_000);

afterAll(async () => {
  await connection.close().catch(() => undefined);
  await vhost.drop();
});

/** Fresh queues for each test: two services' work queues and parking lots, each lot holding two messages. */
beforeEach(async () => {
  const channel = await connection.createConfirmChannel();
  for (const queue of [IDENTITY, MAILER]) {
    for (const name of [queue, parkingQueueName(queue)]) {
      await channel.assertQueue(name, { durable: true });
      await channel.purgeQueue(name);
    }
    for (const [suffix, reason] of [
      ['a', 'schema-validation'],
      ['b', 'retries-exhausted'],
    ] as const) {
      channel.sendToQueue(parkingQueueName(queue), Buffer.from('{}'), {
        persistent: true,
        messageId: `${queue}-${suffix}`,
        type: 'driver.registered.v2',
        headers: { 'x-parked-reason': reason, 'x-original-queue': queue, 'x-original-routing-key': 'driver.registered.v2', 'x-attempts': 3 },
      });
    }
  }
  await channel.waitForConfirms();
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

async function everything(): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const queue of [IDENTITY, MAILER, parkingQueueName(IDENTITY), parkingQueueName(MAILER)]) result[queue] = await idsIn(queue);
  return result;
}

function parked(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, AMQP_URL: vhost.url }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

const untouched = () => ({
  [IDENTITY]: [],
  [MAILER]: [],
  [parkingQueueName(IDENTITY)]: [`${IDENTITY}-a`, `${IDENTITY}-b`],
  [parkingQueueName(MAILER)]: [`${MAILER}-a`, `${MAILER}-b`],
});

it('replay --queue=<one parking lot> replays that lot only (the = spelling used to select every queue)', async () => {
  const result = await parked(['replay', `--queue=${parkingQueueName(IDENTITY)}`]);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('2 message(s) replayed');
  expect(await everything()).toEqual({
    ...untouched(),
    [IDENTITY]: [`${IDENTITY}-a`, `${IDENTITY}-b`],
    [parkingQueueName(IDENTITY)]: [],
  });
}, 60_000);

it('replay --queue Q --reason R replays only the messages of Q parked for R', async () => {
  const result = await parked(['replay', '--queue', parkingQueueName(MAILER), '--reason', 'retries-exhausted']);
  expect(result.code).toBe(0);
  expect(await everything()).toEqual({ ...untouched(), [MAILER]: [`${MAILER}-b`], [parkingQueueName(MAILER)]: [`${MAILER}-a`] });
}, 60_000);

it('replay --id=<id> over every parking lot replays that message only', async () => {
  const result = await parked(['replay', `--id=${IDENTITY}-b`]);
  expect(result.code).toBe(0);
  expect(await everything()).toEqual({ ...untouched(), [IDENTITY]: [`${IDENTITY}-b`], [parkingQueueName(IDENTITY)]: [`${IDENTITY}-a`] });
}, 60_000);

it('replay --dry-run names what it would replay and changes nothing', async () => {
  const result = await parked(['replay', '--dry-run', `--queue=${parkingQueueName(MAILER)}`]);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('2 message(s) would be replayed (dry run)');
  expect(result.stdout).not.toContain(IDENTITY);
  expect(await everything()).toEqual(untouched());
}, 60_000);

it('replay with an unknown option exits 2 with the usage and changes nothing', async () => {
  const result = await parked(['replay', '--queues', parkingQueueName(IDENTITY)]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/Unknown option '--queues'/);
  expect(result.stderr).toMatch(/^usage: npm run parked/m);
  expect(await everything()).toEqual(untouched());
}, 60_000);
