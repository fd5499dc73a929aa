import amqplib, { type ChannelModel } from 'amqplib';
import pg from 'pg';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { INTERNAL_PARKED_PATHS, type InternalParkedList, type InternalParkedResult } from '@onboarding/contracts';
import { createHttpServer } from '@onboarding/service-kit';
import { createTestDatabase, createTestVhost, type TestResource } from '@onboarding/test-infra';
import { outboxAndInboxTablesSql, parkedRoutes, redirectExchangeName, splitPersonalData } from '../src';

/**
 * The internal parked-message routes of one service (what operations calls) over a real table and broker: listing
 * with filters and states, a dry run that changes nothing, a replay that publishes once with the personal data put
 * back, a refused replay when that data is gone, archive and restore, refusals of bad input as problem+json, and
 * no personal data in any answer.
 */
const SCHEMA = 'parked_routes';
const QUEUE = 'mailer.events';
const EMAIL = 'ada.parked@example.com';

let database: TestResource;
let vhost: TestResource;
let db: pg.Client;
let connection: ChannelModel;
let app: FastifyInstance;

beforeAll(async () => {
  database = await createTestDatabase('parked_routes');
  vhost = await createTestVhost('parked-routes');
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  await db.query(`create schema "${SCHEMA}"`);
  for (const sql of outboxAndInboxTablesSql(SCHEMA)) await db.query(sql);
  connection = await amqplib.connect(vhost.url);
  const channel = await connection.createChannel();
  await channel.assertExchange(redirectExchangeName(QUEUE), 'direct', { durable: true });
  await channel.assertQueue(QUEUE, { durable: true });
  await channel.bindQueue(QUEUE, redirectExchangeName(QUEUE), QUEUE);
  await channel.close();
  app = createHttpServer({ logger: pino({ level: 'silent' }) });
  await parkedRoutes({ service: 'mailer', schema: SCHEMA, databaseUrl: database.url, amqpUrl: vhost.url })(app);
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await connection?.close().catch(() => undefined);
  await db?.end().catch(() => undefined);
  await vhost?.drop();
  await database?.drop();
});

/** Three parked rows: two schema failures (one whose personal data was erased), one exhausted retry. */
beforeEach(async () => {
  await db.query(`delete from "${SCHEMA}"."parked_message"`);
  const channel = await connection.createChannel();
  await channel.purgeQueue(QUEUE);
  await channel.close();
  const rows = [
    ['m-kept', 'schema-validation', true],
    ['m-erased', 'schema-validation', false],
    ['m-retries', 'retries-exhausted', true],
  ] as const;
  for (const [messageId, reason, kept] of rows) {
    const { payload, personal } = splitPersonalData(Buffer.from(JSON.stringify({ id: messageId, data: { email: EMAIL } })));
    await db.query(
      `insert into "${SCHEMA}"."parked_message" (source_queue, message_id, type, routing_key, reason, error, attempts, payload, parked_by,
         verified_publisher, properties, has_personal_data, personal_data, first_received_at)
       values ($1, $2, 'driver.activated', 'driver.activated.v1', $3, 'it broke', 3, $4, 'mailer', 'driver', $5, true, $6, now() - interval '1 hour')`,
      [QUEUE, messageId, reason, payload, JSON.stringify({ messageId }), kept ? JSON.stringify(personal) : null],
    );
  }
});

async function get(query = ''): Promise<{ status: number; body: InternalParkedList; text: string }> {
  const response = await app.inject({ method: 'GET', url: `${INTERNAL_PARKED_PATHS.list}${query}` });
  return { status: response.statusCode, body: response.json<InternalParkedList>(), text: response.body };
}

async function post(path: string, payload: Record<string, unknown>): Promise<{ status: number; body: InternalParkedResult; text: string }> {
  const response = await app.inject({ method: 'POST', url: path, payload });
  return { status: response.statusCode, body: response.json<InternalParkedResult>(), text: response.body };
}

/** The message ids waiting in the work queue, left there. */
async function queued(): Promise<{ id: string; body: string }[]> {
  const channel = await connection.createChannel();
  const found: { id: string; body: string }[] = [];
  for (let i = 0; i < 50; i += 1) {
    const message = await channel.get(QUEUE, { noAck: false });
    if (!message) break;
    found.push({ id: String(message.properties.messageId), body: message.content.toString('utf8') });
  }
  await channel.close();
  return found;
}

const idOf = async (messageId: string) => (await get('?state=open')).body.items.find((item) => item.messageId === messageId)!.id;

it('lists the open messages with their reason, error, attempts and times, filtered, and shows no personal data', async () => {
  const all = await get();
  expect(all.status).toBe(200);
  expect(all.body.items.map((item) => item.messageId).sort()).toEqual(['m-erased', 'm-kept', 'm-retries']);
  expect(all.body.items[0]).toMatchObject({ sourceQueue: QUEUE, attempts: 3, error: 'it broke', state: 'open', hasPersonalData: true });
  expect(all.body.items[0]!.firstReceivedAt).toEqual(expect.any(String));
  expect(all.body.items.find((item) => item.messageId === 'm-erased')!.personalDataKept).toBe(false);
  expect(all.text).not.toContain(EMAIL);
  expect((await get('?reason=retries-exhausted')).body.items.map((item) => item.messageId)).toEqual(['m-retries']);
  expect((await get(`?queue=${QUEUE}&reason=schema-validation&limit=1`)).body.items).toHaveLength(1);
  expect((await get('?queue=other.events')).body.items).toEqual([]);
  expect((await get('?state=archived')).body.items).toEqual([]);
});

it('counts every selected message by queue and reason, not only the listed page, and lists the newest first', async () => {
  await db.query(`update "${SCHEMA}"."parked_message" set parked_at = now() - interval '1 minute' where message_id <> 'm-retries'`);
  const page = await get('?limit=1');
  expect(page.body.items.map((item) => item.messageId)).toEqual(['m-retries']); // parked last
  expect(page.body.groups).toEqual([
    { queue: QUEUE, reason: 'schema-validation', count: 2 },
    { queue: QUEUE, reason: 'retries-exhausted', count: 1 },
  ]);
  expect((await get('?reason=schema-validation&limit=1')).body.groups).toEqual([{ queue: QUEUE, reason: 'schema-validation', count: 2 }]);
  expect((await get('?state=archived')).body.groups).toEqual([]);
});

it('pages through every message newest first with nextBefore, rows parked in the same instant included', async () => {
  // One parked_at for all: the order and the pages rest on the id alone, which a cursor carrying only a time would lose.
  await db.query(`update "${SCHEMA}"."parked_message" set parked_at = now() - interval '1 minute'`);
  const seen: string[] = [];
  let before: string | null | undefined;
  for (let pages = 0; pages < 10; pages += 1) {
    const page = await get(`?limit=1${before ? `&before=${before}` : ''}`);
    expect(page.status).toBe(200);
    // Counts come with the first page only: a later page is the same selection.
    expect(page.body.groups !== undefined).toBe(before === undefined);
    seen.push(...page.body.items.map((item) => item.messageId));
    before = page.body.nextBefore;
    if (!before) break;
  }
  expect(seen).toEqual(['m-retries', 'm-erased', 'm-kept']); // inserted in that order reversed: newest (highest id) first
  expect((await get('?limit=3')).body.nextBefore).toBeNull();
  const second = await get(`?reason=schema-validation&limit=1`);
  expect((await get(`?reason=schema-validation&limit=1&before=${second.body.nextBefore}`)).body.items.map((item) => item.messageId)).toEqual([
    'm-kept',
  ]);
});

it('lists the messages about one driver (their CloudEvents subject), what a registration timeline shows', async () => {
  const driverId = '7d0c2a4e-3f7b-4c59-9a55-0d8c1f6e2b10';
  await db.query(`update "${SCHEMA}"."parked_message" set subject = $1 where message_id = 'm-retries'`, [driverId]);
  expect((await get(`?subject=${driverId}`)).body.items.map((item) => [item.messageId, item.subject])).toEqual([['m-retries', driverId]]);
  expect((await get(`?subject=${driverId.toUpperCase()}`)).body.items.map((item) => item.messageId)).toEqual(['m-retries']);
  expect((await get('?subject=0b3e6a0c-1c1e-4b7e-8f0e-5a4f3c2d1e0f')).body.items).toEqual([]);
  expect((await get('?subject=not-a-driver')).status).toBe(400);
});

it('previews a replay without changing anything, replays once with the personal data put back, refuses an erased one', async () => {
  const preview = await post(INTERNAL_PARKED_PATHS.replay, { reason: 'schema-validation', dryRun: true });
  expect(preview.status).toBe(200);
  expect(preview.body.count).toBe(1);
  expect(preview.body.results.map((result) => `${result.messageId} ${result.outcome}`).sort()).toEqual(['m-erased refused', 'm-kept would-replay']);
  expect(await queued()).toEqual([]);
  expect((await get()).body.items).toHaveLength(3);

  const replay = await post(INTERNAL_PARKED_PATHS.replay, { reason: 'schema-validation' });
  expect(replay.body.count).toBe(1);
  expect(replay.body.results.find((result) => result.outcome === 'refused')!.why).toMatch(/erased/);
  expect(replay.text).not.toContain(EMAIL);
  const published = await queued();
  expect(published.map((message) => message.id)).toEqual(['m-kept']);
  expect(JSON.parse(published[0]!.body)).toEqual({ id: 'm-kept', data: { email: EMAIL } });
  expect((await get('?state=replayed')).body.items.map((item) => item.messageId)).toEqual(['m-kept']);

  // Once: the same replay again finds nothing open to replay.
  expect((await post(INTERNAL_PARKED_PATHS.replay, { reason: 'schema-validation' })).body.count).toBe(0);
  expect(await queued()).toHaveLength(1);
});

it('replays one message by id only', async () => {
  const id = await idOf('m-retries');
  const replay = await post(INTERNAL_PARKED_PATHS.replay, { ids: [id] });
  expect(replay.body).toMatchObject({ dryRun: false, count: 1, results: [{ id, messageId: 'm-retries', outcome: 'replayed' }] });
  expect((await queued()).map((message) => message.id)).toEqual(['m-retries']);
  expect((await get()).body.items.map((item) => item.messageId).sort()).toEqual(['m-erased', 'm-kept']);
});

it('archives and restores, with dry runs that change nothing', async () => {
  const id = await idOf('m-kept');
  expect((await post(INTERNAL_PARKED_PATHS.archive, { ids: [id], dryRun: true })).body).toMatchObject({
    count: 1,
    results: [{ outcome: 'would-archive' }],
  });
  expect((await get('?state=archived')).body.items).toEqual([]);
  expect((await post(INTERNAL_PARKED_PATHS.archive, { ids: [id] })).body).toMatchObject({ count: 1, results: [{ id, outcome: 'archived' }] });
  const archived = (await get('?state=archived')).body.items;
  expect(archived.map((item) => [item.messageId, item.state])).toEqual([['m-kept', 'archived']]);
  expect(archived[0]!.archivedAt).toEqual(expect.any(String));
  // An archived message is not replayed by a group replay.
  expect((await post(INTERNAL_PARKED_PATHS.replay, { reason: 'schema-validation', dryRun: true })).body.count).toBe(0);

  expect((await post(INTERNAL_PARKED_PATHS.restore, { reason: 'schema-validation', dryRun: true })).body.count).toBe(1);
  expect((await get('?state=archived')).body.items).toHaveLength(1);
  expect((await post(INTERNAL_PARKED_PATHS.restore, { reason: 'schema-validation' })).body).toMatchObject({
    count: 1,
    results: [{ id, outcome: 'restored' }],
  });
  expect((await get()).body.items.map((item) => item.messageId).sort()).toEqual(['m-erased', 'm-kept', 'm-retries']);
});

it('refuses bad input with problem+json and changes nothing', async () => {
  for (const query of ['?state=lost', '?limit=0', '?colour=blue', '?before=x1', '?before=']) {
    const response = await app.inject({ method: 'GET', url: `${INTERNAL_PARKED_PATHS.list}${query}` });
    expect([query, response.statusCode, response.headers['content-type']]).toEqual([query, 400, expect.stringContaining('application/problem+json')]);
  }
  for (const payload of [{ ids: ['1; drop table x'] }, { ids: [] }, { dryRun: 'yes' }, { everything: true }]) {
    const response = await app.inject({ method: 'POST', url: INTERNAL_PARKED_PATHS.replay, payload });
    expect([payload, response.statusCode]).toEqual([payload, 400]);
  }
  expect(await queued()).toEqual([]);
  expect((await get()).body.items).toHaveLength(3);
});
