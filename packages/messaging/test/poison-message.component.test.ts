import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import pino from 'pino';
import { DriverRegisteredV1, createEnvelope, type CloudEvent } from '@onboarding/contracts';
import { EventProbe, eventually, isolatedEnvironment } from '@onboarding/test-infra';
import { Broker, DOMAIN_EXCHANGE, outboxAndInboxTablesSql } from '../src';
import { sampleRegistration } from './sample-registration';

/**
 * A message that kills its consumer's process every time it is handled (test/fixtures/poison-consumer.ts, a real
 * process, restarted after each crash as an orchestrator would). Without a delivery limit it is redelivered and
 * kills the process forever; with one, it ends parked as `delivery-limit` and everything else is handled once.
 */
const SCHEMA = 'poison_test';
const QUEUE = 'poison.events';
const DELIVERY_LIMIT = 3;
/** Restarts allowed: the limit's worth of crashes, and as many again for slack. Without the limit it never ends. */
const MAX_RESTARTS = 2 * DELIVERY_LIMIT + 2;

let environment: Awaited<ReturnType<typeof isolatedEnvironment>>;
let db: pg.Client;
let probe: EventProbe;
let child: ChildProcess | undefined;

function registered(): CloudEvent {
  const driverId = randomUUID();
  return createEnvelope(DriverRegisteredV1, sampleRegistration(driverId), { source: 'test', subject: driverId, correlationId: randomUUID() });
}

/** Starts the fixture; resolves once it consumes, with a promise of its exit. */
async function startChild(poisonId: string): Promise<{ exited: Promise<unknown> }> {
  const started = spawn(process.execPath, ['--disable-warning=MODULE_TYPELESS_PACKAGE_JSON', join(__dirname, 'fixtures', 'poison-consumer.ts')], {
    env: {
      ...process.env,
      AMQP_URL: environment.amqpUrl,
      DATABASE_URL: environment.databaseUrl,
      SCHEMA,
      QUEUE,
      POISON_ID: poisonId,
      DELIVERY_LIMIT: String(DELIVERY_LIMIT),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child = started;
  const exited = once(started, 'exit');
  const consuming = new Promise<void>((resolve) =>
    createInterface({ input: started.stdout }).on('line', (line) => line === 'consuming' && resolve()),
  );
  await Promise.race([consuming, exited.then(() => undefined)]);
  return { exited };
}

async function effects(ids: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ message_id: string; n: number }>(
    `select message_id, count(*)::int as n from "${SCHEMA}"."effect" where message_id = any($1) group by message_id`,
    [ids],
  );
  return new Map(rows.map((row) => [row.message_id, row.n]));
}

interface ParkedRow {
  message_id: string;
  reason: string;
  delivery_count: number;
  error: string;
}

async function parked(): Promise<ParkedRow[]> {
  return (
    await db.query<ParkedRow>(`select message_id, reason, delivery_count, error from "${SCHEMA}"."parked_message" where source_queue = $1`, [QUEUE])
  ).rows;
}

beforeAll(async () => {
  environment = await isolatedEnvironment('poison');
  db = new pg.Client({ connectionString: environment.databaseUrl });
  await db.connect();
  await db.query(`create schema "${SCHEMA}"`);
  await db.query(`create table "${SCHEMA}"."effect" ("id" uuid primary key, "message_id" varchar(255) not null)`);
  for (const sql of outboxAndInboxTablesSql(SCHEMA)) await db.query(sql);
  const logger = pino({ level: 'silent' });
  const bootstrap = new Broker({ url: environment.amqpUrl, connectionName: 'bootstrap', logger });
  await bootstrap.waitUntilConnected(10_000);
  await bootstrap.close();
  probe = await EventProbe.attach(environment.amqpUrl, DOMAIN_EXCHANGE);
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  await probe?.close();
  await db?.end();
  await environment?.drop();
});

it('parks a message that kills its consumer after the delivery limit; every other message is handled once and consuming goes on', async () => {
  const before = Array.from({ length: 20 }, registered);
  const poison = registered();
  const after = Array.from({ length: 20 }, registered);
  // The first start declares the queue and its bindings; what is published then waits in it.
  let { exited } = await startChild(poison.id);
  for (const event of [...before, poison, ...after]) await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });

  const deadline = Date.now() + 120_000;
  let restarts = 0;
  while (!(await parked()).some((row) => row.message_id === poison.id)) {
    const crashed = await Promise.race([exited.then(() => true), new Promise((resolve) => setTimeout(resolve, 500, false))]);
    if (crashed) {
      restarts += 1;
      if (restarts > MAX_RESTARTS) throw new Error(`the poisoned message was not parked after ${restarts - 1} restarts`);
      ({ exited } = await startChild(poison.id));
    }
    if (Date.now() > deadline) throw new Error('the poisoned message was not parked within two minutes');
  }

  expect(restarts).toBeGreaterThanOrEqual(DELIVERY_LIMIT - 1);
  const [row] = (await parked()).filter((candidate) => candidate.message_id === poison.id);
  expect(row).toMatchObject({ reason: 'delivery-limit', delivery_count: DELIVERY_LIMIT + 1 });
  expect(row?.error).toMatch(/crashed or lost its connection/);

  // The consumer that parked it goes on: messages sent now are handled too.
  const later = Array.from({ length: 10 }, registered);
  for (const event of later) await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
  const others = [...before, ...after, ...later].map((event) => event.id);
  await eventually(async () => (await effects(others)).size === others.length, { timeoutMs: 30_000, description: 'every other message handled' });
  expect(child?.exitCode).toBeNull();
  await eventually(async () => (await probe.queueDepth(QUEUE)) === 0, { description: 'the queue drained' });
  const counts = await effects([...others, poison.id]);
  expect([...counts.values()].every((count) => count === 1)).toBe(true);
  expect(counts.has(poison.id)).toBe(false);
  expect((await parked()).map((candidate) => candidate.message_id)).toEqual([poison.id]);
}, 180_000);
