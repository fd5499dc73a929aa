import { randomUUID } from 'node:crypto';
import { EntitySchema, MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
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
  listParked,
  outboxAndInboxTablesSql,
  replayParked,
  parkingQueueName,
  type MessageHandler,
} from '../src';
import { openDatabase } from '@onboarding/service-kit';
import { sampleRegistration } from './sample-registration';

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
  orm = await MikroORM.init<PostgreSqlDriver>({
    driver: PostgreSqlDriver,
    clientUrl: environment.databaseUrl,
    schema: SCHEMA,
    entities: [EffectSchema, OutboxMessageSchema],
    allowGlobalContext: false,
  });
  const connection = orm.em.getConnection();
  await connection.execute(`create schema "${SCHEMA}"`);
  await connection.execute(`create table "${SCHEMA}"."effect" ("id" uuid primary key, "message_id" varchar(255) not null)`);
  for (const sql of outboxAndInboxTablesSql(SCHEMA)) await connection.execute(sql);
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
    const parked = await eventually(
      async () => {
        const depth = await probe.queueDepth(parkingQueueName('parking.events'));
        return depth === 4 ? probe.drain(parkingQueueName('parking.events')) : undefined;
      },
      { description: 'four parked messages' },
    );
    const reasons = parked.map((message): unknown => message.properties.headers?.['x-parked-reason']).sort();
    expect(reasons).toEqual(['invalid-envelope', 'no-handler', 'schema-validation', 'unparseable']);
    const schemaFailure = parked.find((message) => message.properties.headers?.['x-parked-reason'] === 'schema-validation');
    expect(String(schemaFailure?.properties.headers?.['x-error'])).toContain('/email');
    expect(schemaFailure?.properties.headers?.['x-original-queue']).toBe('parking.events');
    // JSON.parse's own message quotes the body, a driver's data: the header says what, never the content.
    const unparseable = parked.find((message) => message.properties.headers?.['x-parked-reason'] === 'unparseable');
    expect(unparseable?.properties.headers?.['x-error']).toBe('the body is not valid JSON');
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
    const parked = await eventually(
      async () => ((await probe.queueDepth(parkingQueueName('trust.events'))) === 2 ? probe.drain(parkingQueueName('trust.events')) : undefined),
      { description: 'two parked messages' },
    );
    expect(parked.map((message): unknown => message.properties.headers?.['x-parked-reason'])).toEqual(['untrusted-publisher', 'untrusted-publisher']);
    expect(String(parked[0]?.properties.headers?.['x-error'])).toContain('broker user "mailer"');
    expect(String(parked[1]?.properties.headers?.['x-error'])).toContain('did not verify');
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
    const parked = await eventually(
      async () => {
        const depth = await probe.queueDepth(parkingQueueName('exhausted.events'));
        return depth === 2 ? probe.drain(parkingQueueName('exhausted.events')) : undefined;
      },
      { description: 'two parked messages' },
    );
    const byReason = Object.fromEntries(parked.map((m) => [String(m.properties.headers?.['x-parked-reason']), m.properties.headers]));
    // Error messages quoting an address or a phone number are stored on the broker with both masked.
    expect(byReason['retries-exhausted']).toMatchObject({
      'x-error': 'database on fire for [email], [phone]',
      'x-last-error': 'database on fire for [email], [phone]',
      'x-attempts': 3,
    });
    expect(byReason['permanent-failure']).toMatchObject({ 'x-error': 'directory says no', 'x-attempts': 1 });
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
    expect(await probe.queueDepth(parkingQueueName('saga.events'))).toBe(0);
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
    expect(await probe.queueDepth(parkingQueueName(queue))).toBe(0);
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
    expect(await probe.queueDepth(parkingQueueName(queue))).toBe(0);
    expect(exhausted).toBe(0);
    expect(Math.max(...attempts)).toBe(1);
  });
});

describe('parking lot', () => {
  it('lists parked messages without consuming them and replays them once the cause is fixed', async () => {
    let broken = true;
    const fragile = handlerFor(DriverRegisteredV1, async (event, context) => {
      if (broken) throw new Error('downstream bug');
      await context.commit(async (em) => {
        em.persist(new Effect(event.id));
      });
    });
    await startConsumer('replay.events', [fragile], { retryDelaysMs: [50] });
    const events = [registeredEvent(), registeredEvent()];
    for (const event of events) await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
    const parkingLot = { amqpUrl: environment.amqpUrl, queues: [parkingQueueName('replay.events'), 'no-such.events.parked'] };
    await eventually(async () => (await probe.queueDepth(parkingQueueName('replay.events'))) === 2, { description: 'two parked' });

    const listed = await listParked(parkingLot);
    expect(listed.map((parked) => parked.reason)).toEqual(['retries-exhausted', 'retries-exhausted']);
    expect(listed[0]).toMatchObject({ error: 'downstream bug', attempts: 2, originalQueue: 'replay.events', routingKey: 'driver.registered.v1' });
    expect(await probe.queueDepth(parkingQueueName('replay.events'))).toBe(2); // listing keeps them

    const dryRun = await replayParked({ ...parkingLot, dryRun: true });
    expect(dryRun).toHaveLength(2);
    expect(await probe.queueDepth(parkingQueueName('replay.events'))).toBe(2);

    broken = false;
    const replayed = await replayParked({ ...parkingLot, messageId: events[0]!.id });
    expect(replayed.map((parked) => parked.messageId)).toEqual([events[0]!.id]);
    await eventually(async () => (await effectsFor(events[0]!.id)) === 1, { description: 'the replayed message processed' });
    expect(await effectsFor(events[1]!.id)).toBe(0);
    expect(await probe.queueDepth(parkingQueueName('replay.events'))).toBe(1);
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
