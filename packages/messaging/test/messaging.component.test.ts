import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { EntitySchema, type MikroORM } from '@mikro-orm/core';
import pino from 'pino';
import { DriverRegisteredV1, createEnvelope, type CloudEvent } from '@onboarding/contracts';
import { EventProbe, eventually, isolatedEnvironment, proxyFor, type TcpProxy } from '@onboarding/test-infra';
import {
  Broker,
  DOMAIN_EXCHANGE,
  MessageConsumer,
  OutboxMessageSchema,
  OutboxRelay,
  PermanentMessageError,
  TransientMessageError,
  addToOutbox,
  handlerFor,
  ParkedRetention,
  archiveParked,
  forgetParkedPersonalData,
  listParked,
  replayParked,
  parkingQueueName,
  type MessageHandler,
} from '../src';
import { openDatabase } from '@onboarding/service-kit';
import { sampleRegistration } from './sample-registration';
import { effectTableSql, ormWithOutbox } from './fixtures/outbox-database';

class Effect {
  id = randomUUID();
  constructor(readonly messageId: string) {}
}
const EffectSchema = new EntitySchema<Effect>({
  class: Effect,
  tableName: 'effect',
  properties: { id: { type: 'uuid', primary: true }, messageId: { type: 'string' } },
});

const SCHEMA = 'messaging_test';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let environment: Awaited<ReturnType<typeof isolatedEnvironment>>;
let orm: MikroORM;
let probe: EventProbe;
const cleanups: (() => Promise<unknown>)[] = [];

function registeredEvent(overrides: Partial<CloudEvent> = {}): CloudEvent {
  const driverId = randomUUID();
  return {
    ...createEnvelope(DriverRegisteredV1, sampleRegistration(driverId), { source: 'test', subject: driverId, correlationId: randomUUID() }),
    ...overrides,
  };
}

interface ParkedRow {
  message_id: string;
  reason: string;
  error: string;
  attempts: number;
  source_queue: string;
  payload: string;
  has_personal_data: boolean;
  personal_data: unknown;
}

/** The rows the consumer parked from `queue`, in the order parked. */
async function parkedFrom(queue: string): Promise<ParkedRow[]> {
  return (await orm.em
    .fork()
    .getConnection()
    .execute(`select * from "${SCHEMA}"."parked_message" where source_queue = ? order by id`, [queue])) as ParkedRow[];
}

async function parkedCount(queue: string, count: number): Promise<ParkedRow[] | undefined> {
  const rows = await parkedFrom(queue);
  return rows.length === count ? rows : undefined;
}

async function effectsFor(messageId: string): Promise<number> {
  return orm.em.fork().count(Effect, { messageId });
}

const recordEffect = handlerFor(DriverRegisteredV1, async (event, context) => {
  await context.commit(async (em) => {
    em.persist(new Effect(event.id));
  });
});

async function startConsumer(
  queue: string,
  handlers: MessageHandler[],
  options: { amqpUrl?: string; retryDelaysMs?: number[]; orm?: MikroORM } = {},
): Promise<{ consumer: MessageConsumer; broker: Broker }> {
  const broker = new Broker({ url: options.amqpUrl ?? environment.amqpUrl, connectionName: queue, logger });
  const consumer = new MessageConsumer({
    service: 'test',
    queue,
    schema: SCHEMA,
    broker,
    orm: options.orm ?? orm,
    handlers,
    logger,
    retryDelaysMs: options.retryDelaysMs ?? [100, 200],
    // The probe and these consumers connect as the same test user; the services' own naming is tested with them.
    trustedPublisher: () => broker.user,
  });
  await broker.waitUntilConnected(10_000);
  await consumer.start();
  cleanups.push(async () => {
    await consumer.stop();
    await broker.close();
  });
  return { consumer, broker };
}

beforeAll(async () => {
  environment = await isolatedEnvironment('messaging');
  orm = await ormWithOutbox(environment.databaseUrl, SCHEMA, { entities: [EffectSchema], extraSql: [effectTableSql(SCHEMA)] });
  // Any broker connection declares the exchange; the probe needs it to exist.
  const bootstrap = new Broker({ url: environment.amqpUrl, connectionName: 'bootstrap', logger });
  await bootstrap.waitUntilConnected(10_000);
  await bootstrap.close();
  probe = await EventProbe.attach(environment.amqpUrl, DOMAIN_EXCHANGE);
});

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

afterAll(async () => {
  await probe?.close();
  await orm?.close();
  await environment?.drop();
});

describe('inbox consumer', () => {
  it('applies an event once, however often it is delivered', async () => {
    await startConsumer('dedupe.events', [recordEffect]);
    const event = registeredEvent();
    for (let i = 0; i < 3; i += 1) await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
    await eventually(async () => (await effectsFor(event.id)) === 1, { description: 'the first effect' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await effectsFor(event.id)).toBe(1);
  });

  it('has no second effect when the consumer dies after commit and before ack', async () => {
    const proxy: TcpProxy = await proxyFor(environment.amqpUrl);
    cleanups.push(() => proxy.stop());
    let deliveries = 0;
    const crashAfterCommit = handlerFor(DriverRegisteredV1, async (event, context) => {
      deliveries += 1;
      await context.commit(async (em) => {
        em.persist(new Effect(event.id));
      });
      if (deliveries === 1) proxy.cut(); // the connection dies before the ack can reach the broker
    });
    const { broker } = await startConsumer('crash.events', [crashAfterCommit], { amqpUrl: proxy.rewrite(environment.amqpUrl) });
    const event = registeredEvent();
    await probe.publish(DriverRegisteredV1.routingKey, event);
    await eventually(() => deliveries === 1 && !broker.isConnected(), { description: 'the crash' });
    expect(await effectsFor(event.id)).toBe(1);

    proxy.restore();
    await eventually(() => broker.isConnected(), { description: 'reconnection' });
    // The broker redelivers the unacknowledged message; the inbox recognises it and it is acked without effect.
    await eventually(async () => (await probe.queueDepth('crash.events')) === 0, { description: 'queue drained' });
    expect(await effectsFor(event.id)).toBe(1);
    expect(deliveries).toBe(1);
  });

  it('keeps consuming after its connection is cut while messages are in flight', async () => {
    const proxy = await proxyFor(environment.amqpUrl);
    cleanups.push(() => proxy.stop());
    const slow = handlerFor(DriverRegisteredV1, async (event, context) => {
      await new Promise((resolve) => setTimeout(resolve, 15));
      await context.commit(async (em) => {
        em.persist(new Effect(event.id));
      });
    });
    const { broker } = await startConsumer('inflight.events', [slow], { amqpUrl: proxy.rewrite(environment.amqpUrl) });
    const events = Array.from({ length: 150 }, () => registeredEvent());
    for (const event of events) await probe.publish(DriverRegisteredV1.routingKey, event);
    await eventually(async () => (await orm.em.fork().count(Effect, { messageId: { $in: events.map((e) => e.id) } })) >= 20, {
      description: 'processing under way',
    });
    proxy.cut();
    await eventually(() => !broker.isConnected(), { description: 'the cut' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    proxy.restore();
    await eventually(async () => (await orm.em.fork().count(Effect, { messageId: { $in: events.map((e) => e.id) } })) === 150, {
      timeoutMs: 30_000,
      description: 'every message processed after the reconnect',
    });
    await eventually(async () => (await probe.queueDepth('inflight.events')) === 0, { description: 'queue drained' });
  });

  it('parks unreadable and invalid messages with the reason and keeps consuming', async () => {
    await startConsumer('parking.events', [recordEffect]);
    const invalidData = registeredEvent();
    (invalidData.data as Record<string, unknown>).email = 'not-an-address';
    await probe.publish(DriverRegisteredV1.routingKey, '{"firstName":"Zebulon", this is not json');
    await probe.publish(DriverRegisteredV1.routingKey, { specversion: '1.0', id: 'x' });
    await probe.publish(DriverRegisteredV1.routingKey, invalidData);
    await probe.publish(DriverRegisteredV1.routingKey, registeredEvent({ type: 'driver.exploded' }));
    const valid = registeredEvent();
    await probe.publish(DriverRegisteredV1.routingKey, valid);

    await eventually(async () => (await effectsFor(valid.id)) === 1, { description: 'the valid message' });
    const parked = await eventually(() => parkedCount('parking.events', 4), { description: 'four parked messages' });
    const reasons = parked.map((row) => row.reason).sort();
    expect(reasons).toEqual(['invalid-envelope', 'no-handler', 'schema-validation', 'unparseable']);
    const schemaFailure = parked.find((row) => row.reason === 'schema-validation');
    expect(schemaFailure?.error).toContain('/email');
    // What listings show has no personal data: the names and the address are apart, for a replay only.
    expect(schemaFailure?.payload).not.toContain(String((invalidData.data as Record<string, unknown>).firstName));
    expect(schemaFailure?.has_personal_data).toBe(true);
    // JSON.parse's own message quotes the body, a driver's data: the error says what, never the content.
    const unparseable = parked.find((row) => row.reason === 'unparseable');
    expect(unparseable?.error).toBe('the body is not valid JSON');
    expect(unparseable?.payload).not.toContain('Zebulon');
  });

  it('parks an event whose verified publisher is not the one trusted for its type, before any handler runs', async () => {
    await startConsumer('trust.events', [recordEffect]);
    // The impersonating probe user can claim any user-id: as a forger with another service's credentials would
    // publish (their own user-id, verified by the broker), and with none at all.
    const impostor = await EventProbe.attach(environment.broker.probeUrl, DOMAIN_EXCHANGE);
    cleanups.push(() => impostor.close());
    const forged = registeredEvent();
    const unsigned = registeredEvent();
    await impostor.publish(DriverRegisteredV1.routingKey, forged, { userId: 'mailer' });
    await impostor.publish(DriverRegisteredV1.routingKey, unsigned, { userId: undefined });
    const trusted = registeredEvent();
    await probe.publish(DriverRegisteredV1.routingKey, trusted);

    await eventually(async () => (await effectsFor(trusted.id)) === 1, { description: 'the trusted event' });
    const parked = await eventually(() => parkedCount('trust.events', 2), { description: 'two parked messages' });
    const byId = new Map(parked.map((row) => [row.message_id, row]));
    expect(parked.map((row) => row.reason)).toEqual(['untrusted-publisher', 'untrusted-publisher']);
    expect(byId.get(forged.id)?.error).toContain('broker user "mailer"');
    expect(byId.get(unsigned.id)?.error).toContain('did not verify');
    expect(await effectsFor(forged.id)).toBe(0);
    expect(await effectsFor(unsigned.id)).toBe(0);
  });

  it('retries a transient failure through the delay queue, then succeeds', async () => {
    let attempts = 0;
    const flaky = handlerFor(DriverRegisteredV1, async (event, context) => {
      attempts += 1;
      if (context.attempt < 3) throw new TransientMessageError('directory timed out');
      await context.commit(async (em) => {
        em.persist(new Effect(event.id));
      });
    });
    await startConsumer('retry.events', [flaky], { retryDelaysMs: [100, 200, 400] });
    const event = registeredEvent();
    await probe.publish(DriverRegisteredV1.routingKey, event);
    await eventually(async () => (await effectsFor(event.id)) === 1, { description: 'success on the third attempt' });
    expect(attempts).toBe(3);
  });

  it('parks a message whose retries are exhausted, or that fails permanently, with the error and attempts', async () => {
    const broken = handlerFor(DriverRegisteredV1, async (event) => {
      if (event.data.firstName === 'Permanent') throw new PermanentMessageError('directory says no');
      throw new Error('database on fire for ada@example.com, +44 20 7946 0000');
    });
    await startConsumer('exhausted.events', [broken], { retryDelaysMs: [50, 100] });
    await probe.publish(DriverRegisteredV1.routingKey, registeredEvent());
    const permanent = registeredEvent();
    (permanent.data as Record<string, unknown>).firstName = 'Permanent';
    await probe.publish(DriverRegisteredV1.routingKey, permanent);
    const parked = await eventually(() => parkedCount('exhausted.events', 2), { description: 'two parked messages' });
    const byReason = Object.fromEntries(parked.map((row) => [row.reason, row]));
    // Error messages quoting an address or a phone number are stored with both masked.
    expect(byReason['retries-exhausted']).toMatchObject({ error: 'database on fire for [email], [phone]', attempts: 3 });
    expect(byReason['permanent-failure']).toMatchObject({ error: 'directory says no', attempts: 1 });
  });

  it('hands exhausted retries to the saga instead of parking when the handler says how', async () => {
    const sagaAware = handlerFor(
      DriverRegisteredV1,
      async () => {
        throw new TransientMessageError('still down');
      },
      async (event, context) => {
        await context.commit(async (em) => {
          em.persist(new Effect(event.id));
        });
      },
    );
    await startConsumer('saga.events', [sagaAware], { retryDelaysMs: [50] });
    const event = registeredEvent();
    await probe.publish(DriverRegisteredV1.routingKey, event);
    await eventually(async () => (await effectsFor(event.id)) === 1, { description: 'the failure path' });
    expect(await parkedFrom('saga.events')).toEqual([]);
  });
});

describe('database outage', () => {
  it('pauses through an outage longer than the retry schedule: nothing parked, no attempt spent, every effect once', async () => {
    // The consumer's own ORM reaches PostgreSQL through a proxy the test cuts; counting goes around it.
    const proxy = await proxyFor(environment.databaseUrl);
    cleanups.push(() => proxy.stop());
    // Opened as every service opens its database (the chassis' pool settings included).
    const cutOff = await openDatabase({
      databaseUrl: proxy.rewrite(environment.databaseUrl),
      schema: SCHEMA,
      entities: [EffectSchema as EntitySchema, OutboxMessageSchema as EntitySchema],
      migrations: [],
      logger,
    });
    cleanups.push(() => cutOff.close(true));
    const attempts: number[] = [];
    let exhausted = 0;
    const slowEffect = handlerFor(
      DriverRegisteredV1,
      async (event, context) => {
        await new Promise((resolve) => setTimeout(resolve, 20)); // so that the cut finds messages in flight
        await context.commit(async (em) => {
          em.persist(new Effect(event.id));
        });
        attempts.push(context.attempt);
      },
      async () => {
        exhausted += 1;
      },
    );
    const queue = 'outage.events';
    const retryDelaysMs = [50, 100];
    const { consumer } = await startConsumer(queue, [slowEffect], { orm: cutOff, retryDelaysMs });
    const events = Array.from({ length: 40 }, () => registeredEvent());
    for (const event of events.slice(0, 20)) await probe.publish(DriverRegisteredV1.routingKey, event);
    await eventually(async () => attempts.length >= 3, { description: 'the first effects' });

    proxy.cut();
    for (const event of events.slice(20)) await probe.publish(DriverRegisteredV1.routingKey, event);
    // Ten times the whole retry schedule: before the change, every message had been parked long before.
    const outageMs = 10 * retryDelaysMs.reduce((sum, delay) => sum + delay, 0);
    await new Promise((resolve) => setTimeout(resolve, outageMs));
    expect(await parkedFrom(queue)).toEqual([]);
    expect(exhausted).toBe(0);
    expect(consumer.isConsuming()).toBe(false); // paused, and says so in /readyz
    proxy.restore();

    await eventually(async () => (await orm.em.fork().count(Effect, { messageId: { $in: events.map((event) => event.id) } })) === events.length, {
      timeoutMs: 20_000,
      description: 'every event applied after the database came back',
    });
    expect(consumer.isConsuming()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a late second effect would land now
    for (const event of events) expect(await effectsFor(event.id)).toBe(1);
    expect(await parkedFrom(queue)).toEqual([]);
    expect(exhausted).toBe(0);
    expect(Math.max(...attempts)).toBe(1);
  });
});

describe('parking lot', () => {
  const tables = () => ({ databaseUrl: environment.databaseUrl, services: [{ service: 'test', schema: SCHEMA }] });

  it('lists parked messages from the table without consuming anything and replays each once, personal data restored', async () => {
    let broken = true;
    const seen: CloudEvent[] = [];
    const fragile = handlerFor(DriverRegisteredV1, async (event, context) => {
      if (broken) throw new Error('downstream bug');
      seen.push(event);
      await context.commit(async (em) => {
        em.persist(new Effect(event.id));
      });
    });
    await startConsumer('replay.events', [fragile], { retryDelaysMs: [50] });
    const events = [registeredEvent(), registeredEvent()];
    for (const event of events) await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
    const lot = { ...tables(), queues: ['replay.events'] };
    await eventually(async () => (await listParked(lot)).length === 2, { description: 'two parked' });

    const listed = await listParked(lot);
    expect(listed.map((parked) => parked.reason)).toEqual(['retries-exhausted', 'retries-exhausted']);
    expect(listed[0]).toMatchObject({ error: 'downstream bug', attempts: 2, sourceQueue: 'replay.events', routingKey: 'driver.registered.v1' });
    expect(listed[0]?.payload).not.toContain(String((events[0]!.data as Record<string, unknown>).email));
    expect(listed[0]?.payload).toContain('REDACTED');
    // Listing reads a table: however often, nothing moves (RabbitMQ 4 counted each requeue of the old listing).
    for (let i = 0; i < 25; i += 1) await listParked(lot);
    expect(await listParked(lot)).toEqual(listed);

    const dryRun = await replayParked({ ...lot, amqpUrl: environment.amqpUrl, dryRun: true });
    expect(dryRun.replayed).toHaveLength(2);
    expect(await listParked(lot)).toEqual(listed);

    broken = false;
    const replayed = await replayParked({ ...lot, amqpUrl: environment.amqpUrl, messageId: events[0]!.id });
    expect(replayed.replayed.map((parked) => parked.messageId)).toEqual([events[0]!.id]);
    await eventually(async () => (await effectsFor(events[0]!.id)) === 1, { description: 'the replayed message processed' });
    // The handler got the message as it was published, names and address included.
    expect(seen.find((event) => event.id === events[0]!.id)?.data).toEqual(events[0]!.data);
    expect(await effectsFor(events[1]!.id)).toBe(0);
    expect((await listParked(lot)).map((parked) => parked.messageId)).toEqual([events[1]!.id]);
    // A second replay of the same filter finds nothing open: a replay happens once.
    expect((await replayParked({ ...lot, amqpUrl: environment.amqpUrl, messageId: events[0]!.id })).replayed).toEqual([]);
    const all = await listParked({ ...lot, includeSettled: true });
    expect(all.find((parked) => parked.messageId === events[0]!.id)?.replayedAt).toBeInstanceOf(Date);

    const archived = await archiveParked({ ...lot, messageId: events[1]!.id });
    expect(archived.map((parked) => parked.messageId)).toEqual([events[1]!.id]);
    expect(await listParked(lot)).toEqual([]);
  });

  it('refuses to replay a message whose personal data was erased, and keeps its scrubbed row', async () => {
    const failing = handlerFor(DriverRegisteredV1, async () => {
      throw new PermanentMessageError('no');
    });
    await startConsumer('erased.events', [failing]);
    const event = registeredEvent();
    await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
    const lot = { ...tables(), queues: ['erased.events'] };
    await eventually(async () => (await listParked(lot)).length === 1, { description: 'parked' });
    const em = orm.em.fork();
    expect(await forgetParkedPersonalData(em, SCHEMA, String(event.subject))).toBe(1);
    const [row] = await listParked(lot);
    expect(row).toMatchObject({ hasPersonalData: true, personalDataKept: false });
    const result = await replayParked({ ...lot, amqpUrl: environment.amqpUrl });
    expect(result.replayed).toEqual([]);
    expect(result.refused[0]?.why).toMatch(/personal data was erased/);
    expect(await listParked(lot)).toHaveLength(1);
  });

  it("moves what an older version, or the broker's own delivery limit, left in <queue>.parked into the table", async () => {
    const queue = 'legacy.events';
    const connection = await amqplib.connect(environment.amqpUrl);
    cleanups.push(() => connection.close());
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(parkingQueueName(queue), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const old = registeredEvent();
    channel.sendToQueue(parkingQueueName(queue), Buffer.from(JSON.stringify(old)), {
      persistent: true,
      messageId: old.id,
      type: old.type,
      headers: {
        'x-parked-reason': 'schema-validation',
        'x-error': 'old',
        'x-original-queue': queue,
        'x-original-routing-key': 'driver.registered.v1',
        'x-attempts': 1,
      },
    });
    // What the broker's own delivery limit (broker-setup's policy) dead-letters there, as RabbitMQ 3.10 marks it.
    const overLimit = registeredEvent();
    channel.sendToQueue(parkingQueueName(queue), Buffer.from(JSON.stringify(overLimit)), {
      persistent: true,
      messageId: overLimit.id,
      headers: { 'x-first-death-reason': 'delivery_limit', 'x-first-death-queue': queue, 'x-death': [{ reason: 'delivery_limit', queue, count: 1 }] },
    });
    await channel.waitForConfirms();
    await channel.close();
    await startConsumer(queue, [recordEffect]);
    const rows = await eventually(() => parkedCount(queue, 2), { description: 'both messages of the parking queue in the table' });
    const row = rows.find((candidate) => candidate.message_id === old.id);
    expect(row).toMatchObject({ message_id: old.id, reason: 'schema-validation', error: 'old', has_personal_data: true });
    expect(rows.find((candidate) => candidate.message_id === overLimit.id)).toMatchObject({ reason: 'delivery-limit', source_queue: queue });
    expect(row?.payload).not.toContain(String((old.data as Record<string, unknown>).email));
    expect(await probe.queueDepth(parkingQueueName(queue))).toBe(0);
  });

  it('retention: personal data nulled after its retention, rows deleted after theirs, recent rows kept', async () => {
    const failing = handlerFor(DriverRegisteredV1, async () => {
      throw new PermanentMessageError('no');
    });
    await startConsumer('retention.events', [failing]);
    const events = [registeredEvent(), registeredEvent(), registeredEvent()];
    for (const event of events) await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
    await eventually(() => parkedCount('retention.events', 3), { description: 'three parked' });
    const age = async (messageId: string, days: number): Promise<void> => {
      await orm.em
        .fork()
        .getConnection()
        .execute(`update "${SCHEMA}"."parked_message" set parked_at = now() - make_interval(days => ?) where message_id = ?`, [days, messageId]);
    };
    await age(events[0]!.id, 40); // past both retentions
    await age(events[1]!.id, 10); // past the personal data's only
    const retention = new ParkedRetention(orm, {
      schema: SCHEMA,
      retentionMs: 30 * 86_400_000,
      personalDataRetentionMs: 7 * 86_400_000,
      batchSize: 1, // several batches for three rows: the loop, not one statement, is what is tested
      logger,
    });
    const swept = await retention.sweep();
    expect(swept.deleted).toBeGreaterThanOrEqual(1);
    const rows = new Map((await parkedFrom('retention.events')).map((row) => [row.message_id, row]));
    expect(rows.has(events[0]!.id)).toBe(false);
    expect(rows.get(events[1]!.id)).toMatchObject({ has_personal_data: true, personal_data: null });
    expect(rows.get(events[2]!.id)?.personal_data).not.toBeNull();
    expect((await retention.sweep()).scrubbed + (await retention.sweep()).deleted).toBe(0);
  });
});

describe('outbox relay', () => {
  it('publishes a row committed while the broker was unreachable once it is back', async () => {
    const proxy = await proxyFor(environment.amqpUrl);
    cleanups.push(() => proxy.stop());
    const broker = new Broker({ url: proxy.rewrite(environment.amqpUrl), connectionName: 'relay', logger });
    await broker.waitUntilConnected(10_000);
    const relay = new OutboxRelay({ databaseUrl: environment.databaseUrl, schema: SCHEMA, broker, logger, pollIntervalMs: 200 });
    relay.start();
    cleanups.push(async () => {
      await relay.stop();
      await broker.close();
    });

    proxy.cut();
    await eventually(() => !broker.isConnected(), { description: 'the broker to be unreachable' });
    const em = orm.em.fork();
    const event = addToOutbox(em, DriverRegisteredV1, registeredEvent().data as never, {
      source: 'test',
      subject: 'outbox-test',
      correlationId: randomUUID(),
    });
    await em.flush();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(probe.received.filter((message) => message.body.id === event.id)).toHaveLength(0);
    expect((await relay.backlog()).count).toBe(1);

    proxy.restore();
    await eventually(() => probe.received.some((message) => message.body.id === event.id), {
      description: 'the event to be published',
    });
    const published = probe.received.filter((message) => message.body.id === event.id);
    expect(published).toHaveLength(1);
    expect(published[0]?.routingKey).toBe('driver.registered.v1');
    expect(published[0]?.properties.messageId).toBe(event.id);
    expect(published[0]?.properties.correlationId).toBe(event.correlationid);
    await eventually(async () => (await relay.backlog()).count === 0, { description: 'the row marked published' });
  });

  it('publishes every row exactly once with two relays claiming from the same outbox', async () => {
    const relays = [1, 2].map((instance) => {
      const broker = new Broker({ url: environment.amqpUrl, connectionName: `relay-${instance}`, logger });
      const relay = new OutboxRelay({ databaseUrl: environment.databaseUrl, schema: SCHEMA, broker, logger, batchSize: 25 });
      return { broker, relay };
    });
    for (const { broker } of relays) await broker.waitUntilConnected(10_000);
    const em = orm.em.fork();
    const staged = Array.from({ length: 300 }, () =>
      addToOutbox(em, DriverRegisteredV1, registeredEvent().data as never, { source: 'test', subject: 'many', correlationId: 'many' }),
    );
    await em.flush();
    for (const { relay } of relays) relay.start();
    cleanups.push(async () => {
      for (const { relay, broker } of relays) {
        await relay.stop();
        await broker.close();
      }
    });
    const ids = new Set(staged.map((event) => event.id));
    await eventually(() => probe.received.filter((message) => ids.has(String(message.body.id))).length >= 300, {
      description: 'all 300 published',
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const published = probe.received.filter((message) => ids.has(String(message.body.id)));
    expect(published).toHaveLength(300);
    expect(new Set(published.map((message) => message.body.id)).size).toBe(300);
  });

  it('refuses to stage an event that breaks its own contract', () => {
    const em = orm.em.fork();
    expect(() => addToOutbox(em, DriverRegisteredV1, { driverId: 'nope' } as never, { source: 'test', subject: 's', correlationId: 'c' })).toThrow(
      /driver.registered.v1/,
    );
  });
});
