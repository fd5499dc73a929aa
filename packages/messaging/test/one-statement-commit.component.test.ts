import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { DriverRegisteredV1, IdentityAccountCreatedV1, createEnvelope, type CloudEvent } from '@onboarding/contracts';
import { CountingProxy, EventProbe, eventually, isolatedEnvironment, proxyFor } from '@onboarding/test-infra';
import {
  Broker,
  DOMAIN_EXCHANGE,
  InvalidEventError,
  MessageConsumer,
  OutboxMessageSchema,
  buildStatementCommit,
  handlerFor,
  outgoing,
  type StatementOutboxRow,
  type MessageContext,
  type MessageHandler,
  type ProcessingOutcome,
  type StatementCommit,
} from '../src';
import { sampleRegistration } from './sample-registration';
import { effectTableSql, ormWithOutbox } from './fixtures/outbox-database';

const SCHEMA = 'one_statement_test';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let environment: Awaited<ReturnType<typeof isolatedEnvironment>>;
let orm: MikroORM;
let probe: EventProbe;
const cleanups: (() => Promise<unknown>)[] = [];

function registeredEvent(): CloudEvent {
  const driverId = randomUUID();
  return createEnvelope(DriverRegisteredV1, sampleRegistration(driverId), { source: 'test', subject: driverId, correlationId: randomUUID() });
}

/** The test handler's whole commit: one effect row and one `identity.account.created` event about the driver. */
function effectAndEvent(event: CloudEvent, context: MessageContext, extra: StatementCommit['effects'] = []): StatementCommit {
  return {
    effects: [
      {
        name: 'effect_row',
        sql: `insert into "${context.schema}"."effect" ("id", "message_id") values (?, ?) returning "id"`,
        params: [randomUUID(), event.id],
      },
      ...extra,
    ],
    events: [
      {
        event: outgoing(IdentityAccountCreatedV1, {
          driverId: event.subject,
          objectId: randomUUID(),
          provider: 'test',
          createdAt: new Date().toISOString(),
        }),
        options: context.causedBy(event.subject),
        onlyIf: 'effect_row',
      },
    ],
  };
}

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await orm.em.fork().getConnection().execute(sql, params)) as T[];
}

const effectsFor = async (messageId: string) =>
  Number((await query<{ n: string }>(`select count(*) as n from "${SCHEMA}"."effect" where message_id = ?`, [messageId]))[0]!.n);

interface OutboxRow {
  id: string;
  routing_key: string;
  payload: CloudEvent;
  headers: Record<string, string>;
}
const outboxAbout = (subject: string) => query<OutboxRow>(`select * from "${SCHEMA}"."outbox" where payload->>'subject' = ?`, [subject]);

async function startConsumer(
  queue: string,
  handlers: MessageHandler[],
  options: { orm?: MikroORM; onOutboxCommitted?: (rows: StatementOutboxRow[]) => void; outcomes?: ProcessingOutcome[] } = {},
): Promise<MessageConsumer> {
  const broker = new Broker({ url: environment.amqpUrl, connectionName: queue, logger });
  const consumer = new MessageConsumer({
    service: 'test',
    queue,
    schema: SCHEMA,
    broker,
    orm: options.orm ?? orm,
    handlers,
    logger,
    retryDelaysMs: [50, 100],
    trustedPublisher: () => broker.user,
    onOutboxCommitted: options.onOutboxCommitted,
    observer: { processed: (_queue, _key, outcome) => options.outcomes?.push(outcome) },
  });
  await broker.waitUntilConnected(10_000);
  await consumer.start();
  cleanups.push(async () => {
    await consumer.stop();
    await broker.close();
  });
  return consumer;
}

/** An ORM like the services' whose every connection goes through `url` (a proxy's). */
async function ormThrough(url: string): Promise<MikroORM> {
  const through = await MikroORM.init<PostgreSqlDriver>({
    driver: PostgreSqlDriver,
    clientUrl: url,
    schema: SCHEMA,
    entities: [OutboxMessageSchema],
    allowGlobalContext: false,
  });
  cleanups.push(() => through.close(true));
  return through;
}

beforeAll(async () => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  environment = await isolatedEnvironment('one_statement');
  orm = await ormWithOutbox(environment.databaseUrl, SCHEMA, { extraSql: [effectTableSql(SCHEMA)] });
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

describe('commitInOneStatement', () => {
  it('sends the inbox record, the effect and the outbox row to PostgreSQL in one round trip per message', async () => {
    const counter = new CountingProxy(new URL(environment.databaseUrl));
    await counter.start();
    cleanups.push(() => counter.stop());
    const url = new URL(environment.databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(counter.port);
    const counted = await ormThrough(url.toString());
    const raw = handlerFor(DriverRegisteredV1, async (event, context) => {
      await context.commitInOneStatement(effectAndEvent(event, context));
    });
    const ormCommit = handlerFor(IdentityAccountCreatedV1, async (event, context) => {
      await context.commit(async (em) => {
        await em
          .getConnection()
          .execute(
            `insert into "${SCHEMA}"."effect" ("id", "message_id") values (?, ?)`,
            [randomUUID(), event.id],
            'run',
            em.getTransactionContext(),
          );
      });
    });
    await startConsumer('one-statement.count', [raw, ormCommit], { orm: counted });

    /** Round trips the consumer made for one message, delivered once and processed alone. */
    const roundTripsFor = async (routingKey: string, event: CloudEvent): Promise<number> => {
      const before = counter.roundTrips();
      await probe.publish(routingKey, event, { messageId: event.id });
      await eventually(async () => (await effectsFor(event.id)) === 1, { description: `the effect of ${routingKey}` });
      return counter.roundTrips() - before;
    };
    await roundTripsFor(DriverRegisteredV1.routingKey, registeredEvent()); // opens the pool's connection
    const oneStatement: number[] = [];
    for (let i = 0; i < 5; i += 1) oneStatement.push(await roundTripsFor(DriverRegisteredV1.routingKey, registeredEvent()));
    expect(oneStatement).toEqual([1, 1, 1, 1, 1]);
    // The ORM's commit for comparison: begin, inbox insert, the effect, commit.
    const accountCreated = createEnvelope(
      IdentityAccountCreatedV1,
      { driverId: randomUUID(), objectId: randomUUID(), provider: 'test', createdAt: new Date().toISOString() },
      { source: 'test', subject: randomUUID(), correlationId: randomUUID() },
    );
    expect(await roundTripsFor(IdentityAccountCreatedV1.routingKey, accountCreated)).toBeGreaterThanOrEqual(4);
  });

  it('has one effect and one outbox row for a message delivered three times, and reports the copies as duplicates', async () => {
    const outcomes: ProcessingOutcome[] = [];
    const handler = handlerFor(DriverRegisteredV1, async (event, context) => {
      await context.commitInOneStatement(effectAndEvent(event, context));
    });
    await startConsumer('one-statement.dedupe', [handler], { outcomes });
    const event = registeredEvent();
    // First deliveries, not redeliveries: no inbox lookup first, so the copies reach the statement and its inbox insert.
    for (let i = 0; i < 3; i += 1) await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
    await eventually(() => outcomes.length === 3, { description: 'three deliveries settled' });
    expect(outcomes.sort()).toEqual(['duplicate', 'duplicate', 'processed']);
    expect(await effectsFor(event.id)).toBe(1);
    expect(await outboxAbout(event.subject)).toHaveLength(1);
  });

  it('writes the outbox row with the trace context, and hands the committed rows over', async () => {
    const reported: StatementOutboxRow[] = [];
    const returned: StatementOutboxRow[] = [];
    const handler = handlerFor(DriverRegisteredV1, async (event, context) => {
      returned.push(...(await context.commitInOneStatement(effectAndEvent(event, context))));
    });
    await startConsumer('one-statement.outbox', [handler], { onOutboxCommitted: (rows) => reported.push(...rows) });
    const event = registeredEvent();
    const traceId = randomUUID().replaceAll('-', '');
    await probe.publish(DriverRegisteredV1.routingKey, event, {
      messageId: event.id,
      headers: { traceparent: `00-${traceId}-${'1'.repeat(16)}-01` },
    });
    await eventually(async () => (await outboxAbout(event.subject)).length === 1, { description: 'the outbox row' });

    const [row] = await outboxAbout(event.subject);
    expect(row!.routing_key).toBe(IdentityAccountCreatedV1.routingKey);
    expect(row!.payload).toMatchObject({
      type: 'identity.account.created',
      causationid: event.id,
      correlationid: event.correlationid,
      subject: event.subject,
    });
    // The consumer's process span continues the incoming trace; the row carries that span's context.
    expect(row!.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const expected = { id: row!.id, routingKey: row!.routing_key, payload: row!.payload, headers: row!.headers };
    expect(returned).toEqual([expected]);
    expect(reported).toEqual([expected]);
  });

  it('fills data from the effect and writes a conditional event only when its effect wrote rows', async () => {
    const rows: StatementOutboxRow[] = [];
    const objectId = randomUUID();
    const handler = handlerFor(DriverRegisteredV1, async (event, context) => {
      const commit = await context.commitInOneStatement({
        effects: [
          { name: 'nothing', sql: `select 1 from "${context.schema}"."effect" where false` },
          { name: 'object', sql: `select ?::text as id`, params: [objectId] },
        ],
        events: [
          {
            event: outgoing(IdentityAccountCreatedV1, {
              driverId: event.subject,
              objectId: randomUUID(),
              provider: 'test',
              createdAt: new Date().toISOString(),
            }),
            options: context.causedBy(event.subject),
            dataFromEffects: { objectId: `(select to_jsonb(id) from "object")` },
          },
          {
            event: outgoing(IdentityAccountCreatedV1, { driverId: event.subject, objectId, provider: 'never', createdAt: new Date().toISOString() }),
            options: context.causedBy(event.subject),
            onlyIf: 'nothing',
          },
        ],
      });
      rows.push(...commit);
    });
    await startConsumer('one-statement.filled', [handler]);
    const event = registeredEvent();
    await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
    await eventually(() => rows.length > 0, { description: 'the commit' });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.payload.data).toMatchObject({ objectId, provider: 'test' });
    expect((await outboxAbout(event.subject)).map((row) => row.payload.data)).toEqual([rows[0]!.payload.data]);
  });

  it('commits nothing when a statement of the effect fails, and the retry commits it once', async () => {
    const attempts: number[] = [];
    const handler = handlerFor(DriverRegisteredV1, async (event, context) => {
      attempts.push(context.attempt);
      // On the first attempt a second effect breaks a not-null constraint after the effect row was inserted.
      const failing =
        context.attempt === 1
          ? [{ sql: `insert into "${context.schema}"."effect" ("id", "message_id") values (?, null)`, params: [randomUUID()] }]
          : [];
      await context.commitInOneStatement(effectAndEvent(event, context, failing));
    });
    await startConsumer('one-statement.rollback', [handler]);
    const event = registeredEvent();
    await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
    await eventually(() => attempts.length === 2, { description: 'the retry' });
    await eventually(async () => (await effectsFor(event.id)) === 1, { description: 'the effect of the retry' });
    expect(await outboxAbout(event.subject)).toHaveLength(1);
    expect(await query(`select 1 from "${SCHEMA}"."inbox" where message_id = ?`, [event.id])).toHaveLength(1);
  });

  it('fails the whole commit when a required effect changed no row (a stale read), and the retry commits it once', async () => {
    const errors: string[] = [];
    const handler = handlerFor(DriverRegisteredV1, async (event, context) => {
      // On the first attempt the guarded update finds no row, as when someone changed the row since it was read.
      const stale =
        context.attempt === 1
          ? [
              {
                name: 'guarded',
                sql: `update "${context.schema}"."effect" set "message_id" = "message_id" where "id" = ? returning 1`,
                params: [randomUUID()],
                requireRows: true,
              },
            ]
          : [];
      try {
        await context.commitInOneStatement(effectAndEvent(event, context, stale));
      } catch (err) {
        errors.push((err as Error).name);
        throw err;
      }
    });
    await startConsumer('one-statement.stale', [handler]);
    const event = registeredEvent();
    await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
    await eventually(async () => (await effectsFor(event.id)) === 1, { description: 'the effect of the retry' });
    expect(errors).toEqual(['StaleRowError']);
    expect(await outboxAbout(event.subject)).toHaveLength(1);
  });

  it('refuses an event its contract rejects before anything reaches the database', () => {
    const invalid = outgoing(IdentityAccountCreatedV1, { driverId: 'not-a-uuid', objectId: randomUUID(), provider: 'test', createdAt: 'yesterday' });
    expect(() =>
      buildStatementCommit(
        SCHEMA,
        { events: [{ event: invalid, options: { source: 'test', subject: 'x', correlationId: randomUUID() } }] },
        { consumer: 'queue', messageId: randomUUID() },
      ),
    ).toThrow(InvalidEventError);
  });

  it('still pauses the consumer when the database is unreachable, and applies every message once after', async () => {
    const proxy = await proxyFor(environment.databaseUrl);
    cleanups.push(() => proxy.stop());
    const cutOff = await ormThrough(proxy.rewrite(environment.databaseUrl));
    const outcomes: ProcessingOutcome[] = [];
    const handler = handlerFor(DriverRegisteredV1, async (event, context) => {
      await context.commitInOneStatement(effectAndEvent(event, context));
    });
    const consumer = await startConsumer('one-statement.outage', [handler], { orm: cutOff, outcomes });
    const events = Array.from({ length: 10 }, () => registeredEvent());
    await probe.publish(DriverRegisteredV1.routingKey, events[0]!, { messageId: events[0]!.id });
    await eventually(async () => (await effectsFor(events[0]!.id)) === 1, { description: 'the first effect' });

    proxy.cut();
    for (const event of events.slice(1)) await probe.publish(DriverRegisteredV1.routingKey, event, { messageId: event.id });
    await eventually(() => !consumer.isConsuming(), { description: 'the pause' });
    expect(outcomes).not.toContain('retried');
    expect(outcomes).not.toContain('parked');
    proxy.restore();

    await eventually(async () => (await Promise.all(events.map((event) => effectsFor(event.id)))).every((count) => count === 1), {
      timeoutMs: 20_000,
      description: 'every event applied after the database came back',
    });
    expect(consumer.isConsuming()).toBe(true);
    expect(outcomes).toContain('returned');
    expect(outcomes).not.toContain('retried');
    expect(outcomes).not.toContain('parked');
  });
});
