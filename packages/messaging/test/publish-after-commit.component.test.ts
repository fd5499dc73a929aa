import { randomUUID } from 'node:crypto';
import { type MikroORM, type EntityManager } from '@mikro-orm/core';
import pino from 'pino';
import { DriverActivatedV1, DriverRegisteredV1, createEnvelope } from '@onboarding/contracts';
import { inTransaction } from '@onboarding/service-kit';
import { EventProbe, eventually, isolatedEnvironment, proxyFor } from '@onboarding/test-infra';
import {
  Broker,
  CommittedOutboxPublisher,
  DOMAIN_EXCHANGE,
  MessageConsumer,
  OutboxRelay,
  addToOutbox,
  handlerFor,
  publishOutboxAfterCommit,
  type CommittedOutboxRow,
} from '../src';
import { sampleRegistration } from './sample-registration';
import { ormWithOutbox } from './fixtures/outbox-database';

const SCHEMA = 'publish_after_commit';
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
/** Long enough that no relay poll happens during a test that must do without one. */
const NO_POLL_MS = 10 * 60_000;

let environment: Awaited<ReturnType<typeof isolatedEnvironment>>;
let orm: MikroORM;
let probe: EventProbe;
/** Where the ORM's commits hand their rows: each test's own publisher (the subscriber is registered once). */
let target: CommittedOutboxPublisher | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  environment = await isolatedEnvironment('publish-after-commit');
  orm = await ormWithOutbox(environment.databaseUrl, SCHEMA);
  publishOutboxAfterCommit(orm, { publishCommitted: (rows: readonly CommittedOutboxRow[]) => target?.publishCommitted(rows) }, logger);
  const bootstrap = new Broker({ url: environment.amqpUrl, connectionName: 'bootstrap', logger });
  await bootstrap.waitUntilConnected(10_000);
  await bootstrap.close();
  probe = await EventProbe.attach(environment.amqpUrl, DOMAIN_EXCHANGE);
});

afterEach(async () => {
  target = undefined;
  while (cleanups.length) await cleanups.pop()!();
});

afterAll(async () => {
  await probe?.close();
  await orm?.close();
  await environment?.drop();
});

/** A started publisher and relay on one broker connection, as the messaging component wires them. */
async function publishing(options: { amqpUrl?: string; relayPollMs?: number; relayGraceMs?: number } = {}) {
  const broker = new Broker({ url: options.amqpUrl ?? environment.amqpUrl, connectionName: 'publish-after-commit', logger });
  await broker.waitUntilConnected(10_000);
  const publisher = new CommittedOutboxPublisher({ databaseUrl: environment.databaseUrl, schema: SCHEMA, broker, logger });
  const relay = new OutboxRelay({
    databaseUrl: environment.databaseUrl,
    schema: SCHEMA,
    broker,
    logger,
    pollIntervalMs: options.relayPollMs ?? NO_POLL_MS,
    graceMs: options.relayGraceMs,
  });
  publisher.start();
  relay.start();
  target = publisher;
  cleanups.push(async () => {
    await publisher.stop();
    await relay.stop();
    await broker.close();
  });
  return { broker, publisher, relay };
}

function stage(em: EntityManager): string {
  const driverId = randomUUID();
  return addToOutbox(em, DriverRegisteredV1, sampleRegistration(driverId), { source: 'test', subject: driverId, correlationId: randomUUID() }).id;
}

const publishedCount = (id: string) => probe.received.filter((message) => message.body.id === id).length;

/** Each row's published_at as PostgreSQL writes it (microseconds), null while unpublished; no entry for a missing row. */
async function publishedAt(ids: readonly string[]): Promise<(string | null)[]> {
  const rows = (await orm.em
    .fork()
    .getConnection()
    .execute(`select published_at::text as published_at from "${SCHEMA}"."outbox" where id in (?)`, [ids])) as { published_at: string | null }[];
  return rows.map((row) => row.published_at);
}

async function allMarked(ids: readonly string[]): Promise<boolean> {
  const marks = await publishedAt(ids);
  return marks.length === ids.length && marks.every((mark) => mark !== null);
}

describe('publishing right after commit', () => {
  it('publishes what each kind of commit wrote within well under a second, with no relay poll, and marks it published', async () => {
    await publishing(); // the relay's one poll at start finds nothing; the next is ten minutes away
    await new Promise((resolve) => setTimeout(resolve, 200));
    const commits: Record<string, () => Promise<string>> = {
      'a flush on its own': async () => {
        const em = orm.em.fork();
        const id = stage(em);
        await em.flush();
        return id;
      },
      inTransaction: async () => inTransaction(orm.em.fork(), async (em) => stage(em)),
      'em.transactional': async () => orm.em.fork().transactional(async (em) => stage(em)),
      'begin, flush, more, commit': async () => {
        const em = orm.em.fork();
        await em.begin();
        stage(em);
        await em.flush(); // the first row is flushed into the transaction, then waits for its commit
        const id = stage(em);
        await em.commit();
        return id;
      },
    };
    for (const [kind, commit] of Object.entries(commits)) {
      const started = Date.now();
      const id = await commit();
      await eventually(() => publishedCount(id) === 1, { timeoutMs: 5_000, intervalMs: 5, description: `the event of ${kind}` });
      const ms = Date.now() - started;
      console.log(`published after commit (${kind}): ${ms} ms`);
      expect(ms).toBeLessThan(1_000);
      await eventually(() => allMarked([id]), { timeoutMs: 5_000, description: `the row of ${kind} marked published` });
    }
  });

  it("publishes what a consumer's context.commit wrote", async () => {
    const { broker } = await publishing();
    const activated: string[] = [];
    const consumer = new MessageConsumer({
      service: 'test',
      queue: 'publish-after-commit.registered',
      schema: SCHEMA,
      broker,
      orm,
      logger,
      retryDelaysMs: [100],
      trustedPublisher: () => broker.user,
      handlers: [
        handlerFor(DriverRegisteredV1, async (event, context) => {
          await context.commit(async (em) => {
            const data = event.data as { driverId: string };
            const envelope = addToOutbox(
              em,
              DriverActivatedV1,
              {
                driverId: data.driverId,
                b2cObjectId: randomUUID(),
                firstName: 'Ada',
                lastName: 'Lovelace',
                email: 'ada@example.com',
                phone: '+1 555 0100',
                activatedAt: new Date().toISOString(),
                version: 2,
              },
              context.causedBy(data.driverId),
            );
            activated.push(envelope.id);
          });
        }),
      ],
    });
    await consumer.start();
    cleanups.push(() => consumer.stop());
    const driverId = randomUUID();
    await probe.publish(
      DriverRegisteredV1.routingKey,
      createEnvelope(DriverRegisteredV1, sampleRegistration(driverId), { source: 'test', subject: driverId, correlationId: randomUUID() }),
    );
    const id = await eventually(() => activated[0], { description: 'the handler to commit' });
    const committed = Date.now();
    await eventually(() => publishedCount(id) === 1, { timeoutMs: 5_000, intervalMs: 5, description: 'the event the handler staged' });
    expect(Date.now() - committed).toBeLessThan(1_000);
    await eventually(() => allMarked([id]), { description: 'marked published' });
  });

  it('publishes nothing that was rolled back', async () => {
    const { publisher } = await publishing({ relayPollMs: 100, relayGraceMs: 0 });
    const em = orm.em.fork();
    await em.begin();
    const flushedThenRolledBack = stage(em);
    await em.flush();
    await em.rollback();
    const thrown = await inTransaction(orm.em.fork(), async (tx) => {
      stage(tx);
      await tx.flush();
      throw new Error('the use case failed after its flush');
    }).catch((err: Error) => err);
    expect(thrown).toBeInstanceOf(Error);
    const failedWork = probe.received.length;
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the publisher and ten relay polls had their chance
    expect(publishedCount(flushedThenRolledBack)).toBe(0);
    expect(probe.received.length).toBe(failedWork);
    expect(publisher.pending()).toEqual({ publishing: 0, unmarked: 0 });
    expect(await publishedAt([flushedThenRolledBack])).toEqual([]);
  });

  it('marks the confirmed rows of one commit with a few UPDATEs, not one per row', async () => {
    await publishing();
    const em = orm.em.fork();
    const ids = Array.from({ length: 50 }, () => stage(em));
    await em.flush();
    await eventually(() => ids.every((id) => publishedCount(id) === 1), { timeoutMs: 5_000, description: 'all 50 published' });
    await eventually(() => allMarked(ids), { timeoutMs: 5_000, description: 'all 50 marked' });
    // now() is the time of the UPDATE's transaction: rows marked by one statement share it.
    const statements = new Set(await publishedAt(ids)).size;
    console.log(`50 rows marked published by ${statements} UPDATE(s)`);
    expect(statements).toBeLessThanOrEqual(5);
  });

  it('leaves a row committed while the broker is cut to the relay, which publishes it once, after its grace period', async () => {
    const proxy = await proxyFor(environment.amqpUrl);
    cleanups.push(() => proxy.stop());
    const { broker, relay } = await publishing({ amqpUrl: proxy.rewrite(environment.amqpUrl), relayPollMs: 100, relayGraceMs: 1_500 });
    proxy.cut();
    await eventually(() => !broker.isConnected(), { description: 'the broker to be unreachable' });
    const em = orm.em.fork();
    const id = stage(em);
    await em.flush();
    const committed = Date.now();
    proxy.restore();
    await eventually(() => publishedCount(id) === 1, { timeoutMs: 15_000, description: 'the relay to publish the row' });
    const ms = Date.now() - committed;
    console.log(`row committed during a broker cut published by the relay after ${ms} ms`);
    expect(ms).toBeGreaterThanOrEqual(1_400); // not before its grace period: the relay did it
    await eventually(() => allMarked([id]), { description: 'marked published' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(publishedCount(id)).toBe(1);
    expect((await relay.backlog()).count).toBe(0);
  });

  it('leaves the rows of a stopped publisher to the relay', async () => {
    const { publisher } = await publishing({ relayPollMs: 100, relayGraceMs: 1_000 });
    await publisher.stop();
    const em = orm.em.fork();
    const id = stage(em);
    await em.flush();
    const committed = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(publishedCount(id)).toBe(0);
    await eventually(() => publishedCount(id) === 1, { timeoutMs: 15_000, description: 'the relay to publish the row' });
    expect(Date.now() - committed).toBeGreaterThanOrEqual(900);
    await eventually(() => allMarked([id]), { description: 'marked published' });
  });

  it('does not publish twice on the happy path with the relay polling beside it', async () => {
    await publishing({ relayPollMs: 100, relayGraceMs: 1_000 });
    const ids: string[] = [];
    for (let i = 0; i < 40; i += 1) {
      const em = orm.em.fork();
      ids.push(stage(em), stage(em));
      await em.flush();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await eventually(() => allMarked(ids), { timeoutMs: 10_000, description: 'all 80 marked' });
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // past the grace period: the relay had every chance
    expect(ids.map(publishedCount).filter((count) => count !== 1)).toEqual([]);
  });
});
