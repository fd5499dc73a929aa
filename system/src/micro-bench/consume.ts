import { randomUUID } from 'node:crypto';
import { EntitySchema, type MikroORM } from '@mikro-orm/core';
import amqplib, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import pg from 'pg';
import { DriverRegisteredV2, createEnvelope } from '@onboarding/contracts';
import {
  Broker,
  DEFAULT_RETRY_DELAYS_MS,
  DOMAIN_EXCHANGE,
  MessageConsumer,
  MessagingMetrics,
  declareExchange,
  handlerFor,
  outboxAndInboxTablesSql,
  parkingQueueName,
  retryQueueName,
} from '@onboarding/messaging';
import { ServiceMetrics, createLogger, openDatabase } from '@onboarding/service-kit';
import { isolatedEnvironment } from '@onboarding/test-infra';
import { round, waitUntil } from '../measure';
import { relayProperties, sampleRegistration } from './relay-lag';

export interface ConsumeBenchOptions {
  /** Messages drained per measured run. */
  messages: number;
  /** Unacknowledged deliveries per consumer, the same on both sides. */
  prefetch: number;
  /** Measured runs per side, alternating raw → runtime so machine noise hits both. */
  runsPerSide: number;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface ConsumeReport {
  /** Best measured run of each side. */
  runtimePerSecond: number;
  rawPerSecond: number;
  consumeRatio: number;
  runtimeRunsPerSecond: number[];
  rawRunsPerSecond: number[];
  /** CPU of this process per message while one side drains (mean over measured runs): the consumer's own cost. */
  runtimeCpuMsPerMessage: number;
  rawCpuMsPerMessage: number;
  messages: number;
  prefetch: number;
  /** Published but not recorded in the inbox with its effect, over every run (warm-up included). */
  lost: number;
  /** Effects recorded more than once for one message. */
  duplicates: number;
  /** Messages the runtime parked instead of processing. */
  parked: number;
}

type Side = 'raw' | 'runtime';

interface RunResult {
  side: Side;
  perSecond: number;
  cpuMsPerMessage: number;
  lost: number;
  duplicates: number;
  parked: number;
}

/** The small entity each message's handler inserts in the same transaction as its inbox record. */
class ConsumedEffect {
  id = randomUUID();
  constructor(readonly messageId: string) {}
}
const ConsumedEffectSchema = new EntitySchema<ConsumedEffect>({
  class: ConsumedEffect,
  tableName: 'effect',
  properties: { id: { type: 'uuid', primary: true }, messageId: { type: 'string' } },
});

const SCHEMA = 'micro_consume';
const INBOX = `"${SCHEMA}"."inbox"`;
const EFFECT = `"${SCHEMA}"."effect"`;
/** Same as the services' ORM pool (openDatabase), so both sides run at most this many transactions at once. */
const POOL_MAX = 10;

interface Bench {
  options: ConsumeBenchOptions;
  orm: MikroORM;
  pool: pg.Pool;
  broker: Broker;
  metrics: MessagingMetrics;
  logger: ReturnType<typeof createLogger>;
  amqp: ChannelModel;
  runs: number;
}

/**
 * The messaging runtime's consume path against plain amqplib + pg doing the same guarantees by hand. Each run
 * pre-publishes N CloudEvents envelopes (as the outbox relay publishes them) into a fresh quorum queue, then
 * drains it: msgs/s from the first delivery to the N-th commit.
 */
export async function runConsumeBench(options: ConsumeBenchOptions): Promise<ConsumeReport> {
  const logger = createLogger('micro-bench', 'warn');
  const environment = await isolatedEnvironment('micro-consume');
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const orm = await openDatabase({
      databaseUrl: environment.databaseUrl,
      schema: SCHEMA,
      entities: [ConsumedEffectSchema],
      migrations: [],
      logger,
      poolMax: POOL_MAX,
    });
    closers.push(() => orm.close(true));
    const connection = orm.em.getConnection();
    await connection.execute(`create table ${EFFECT} ("id" uuid primary key, "message_id" varchar(255) not null)`);
    for (const sql of outboxAndInboxTablesSql(SCHEMA)) await connection.execute(sql);

    const pool = new pg.Pool({ connectionString: environment.databaseUrl, max: POOL_MAX });
    closers.push(() => pool.end());
    const amqp = await amqplib.connect(environment.amqpUrl, { noDelay: true });
    amqp.on('error', () => undefined);
    closers.push(() => amqp.close().catch(() => undefined));
    const broker = new Broker({ url: environment.amqpUrl, connectionName: 'micro-bench.consume', logger });
    closers.push(() => broker.close().catch(() => undefined));
    await broker.waitUntilConnected(10_000);
    const bench: Bench = { options, orm, pool, broker, metrics: new MessagingMetrics(new ServiceMetrics('micro-bench').registry), logger, amqp, runs: 0 };

    const warmup = Math.min(options.messages, 500);
    options.log(`consume: warm-up (${warmup} messages each side)…`);
    const results: RunResult[] = [await drain(bench, 'raw', warmup), await drain(bench, 'runtime', warmup)];
    const measured: RunResult[] = [];
    for (let run = 0; run < options.runsPerSide && !options.signal?.aborted; run += 1) {
      for (const side of ['raw', 'runtime'] as const) {
        const result = await drain(bench, side, options.messages);
        options.log(`  ${side.padEnd(7)} ${round(result.perSecond)} msgs/s`);
        measured.push(result);
      }
    }
    results.push(...measured);
    const perSecond = (side: Side) => measured.filter((result) => result.side === side).map((result) => result.perSecond);
    const best = (values: number[]) => (values.length ? Math.max(...values) : 0);
    const meanCpu = (side: Side) => {
      const runs = measured.filter((result) => result.side === side);
      return runs.length ? runs.reduce((total, result) => total + result.cpuMsPerMessage, 0) / runs.length : 0;
    };
    const sum = (pick: (result: RunResult) => number) => results.reduce((total, result) => total + pick(result), 0);
    const runtimeBest = best(perSecond('runtime'));
    const rawBest = best(perSecond('raw'));
    return {
      runtimePerSecond: round(runtimeBest),
      rawPerSecond: round(rawBest),
      consumeRatio: round(runtimeBest / Math.max(rawBest, 0.001), 3),
      runtimeRunsPerSecond: perSecond('runtime').map((value) => round(value)),
      rawRunsPerSecond: perSecond('raw').map((value) => round(value)),
      runtimeCpuMsPerMessage: round(meanCpu('runtime'), 3),
      rawCpuMsPerMessage: round(meanCpu('raw'), 3),
      messages: options.messages,
      prefetch: options.prefetch,
      lost: sum((result) => result.lost),
      duplicates: sum((result) => result.duplicates),
      parked: sum((result) => result.parked),
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await environment.drop();
  }
}

/** One run: a fresh queue filled with `count` messages, drained by one side, checked, deleted. */
async function drain(bench: Bench, side: Side, count: number): Promise<RunResult> {
  bench.runs += 1;
  const queue = `micro.consume.${side}.${bench.runs}`;
  const ids = await fill(bench, queue, count);
  const timeoutMs = Math.min(300_000, Math.max(30_000, count * 10));
  const cpuBefore = process.cpuUsage();
  const timing = side === 'raw' ? await drainRaw(bench, queue, count, timeoutMs) : await drainRuntime(bench, queue, count, timeoutMs);
  const cpu = process.cpuUsage(cpuBefore);

  const { rows } = await bench.pool.query<{ inbox: string; effects: string; distinct_effects: string }>(
    `select (select count(*) from ${INBOX} where consumer = $1) as inbox,
            count(*) as effects, count(distinct message_id) as distinct_effects
       from ${EFFECT} where message_id = any($2)`,
    [queue, ids],
  );
  const inbox = Number(rows[0]?.inbox ?? 0);
  const effects = Number(rows[0]?.effects ?? 0);
  const distinctEffects = Number(rows[0]?.distinct_effects ?? 0);
  const admin = await bench.amqp.createChannel();
  let parked = 0;
  try {
    if (side === 'runtime') {
      parked = (await admin.checkQueue(parkingQueueName(queue))).messageCount;
      await admin.deleteQueue(parkingQueueName(queue));
      for (const delayMs of new Set(DEFAULT_RETRY_DELAYS_MS)) await admin.deleteQueue(retryQueueName(queue, delayMs));
    }
    await admin.deleteQueue(queue);
  } finally {
    await admin.close().catch(() => undefined);
  }
  const elapsedSeconds = timing.firstAt !== undefined && timing.lastAt !== undefined ? (timing.lastAt - timing.firstAt) / 1000 : Infinity;
  return {
    side,
    perSecond: timing.completed / elapsedSeconds,
    cpuMsPerMessage: (cpu.user + cpu.system) / 1000 / Math.max(timing.completed, 1),
    lost: count - Math.min(inbox, distinctEffects),
    duplicates: effects - distinctEffects,
    parked,
  };
}

/** Publishes `count` valid envelopes through the domain exchange into `queue` only; returns their ids. */
async function fill(bench: Bench, queue: string, count: number): Promise<string[]> {
  const channel = await bench.amqp.createConfirmChannel();
  try {
    await declareExchange(channel);
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(queue, DOMAIN_EXCHANGE, DriverRegisteredV2.routingKey);
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const data = sampleRegistration();
      const envelope = createEnvelope(DriverRegisteredV2, data, { source: 'micro-bench', subject: data.driverId, correlationId: randomUUID() });
      ids.push(envelope.id);
      const body = Buffer.from(JSON.stringify(envelope));
      if (!channel.publish(DOMAIN_EXCHANGE, DriverRegisteredV2.routingKey, body, relayProperties(envelope))) {
        await new Promise((resolve) => channel.once('drain', resolve));
      }
    }
    await channel.waitForConfirms();
    // The next run's messages must land in its own queue only (the runtime's consumer binds this one again at start).
    await channel.unbindQueue(queue, DOMAIN_EXCHANGE, DriverRegisteredV2.routingKey);
    return ids;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

interface DrainTiming {
  completed: number;
  firstAt?: number;
  lastAt?: number;
}

/** A real MessageConsumer, wired as services wire it, with one handler committing one entity insert. */
async function drainRuntime(bench: Bench, queue: string, count: number, timeoutMs: number): Promise<DrainTiming> {
  const timing: DrainTiming = { completed: 0 };
  const recordEffect = handlerFor(DriverRegisteredV2, async (event, context) => {
    timing.firstAt ??= performance.now();
    await context.commit(async (em) => {
      em.persist(new ConsumedEffect(event.id));
    });
    timing.completed += 1;
    if (timing.completed === count) timing.lastAt = performance.now();
  });
  const consumer = new MessageConsumer({
    service: 'micro-bench',
    queue,
    schema: SCHEMA,
    broker: bench.broker,
    orm: bench.orm,
    handlers: [recordEffect],
    logger: bench.logger,
    prefetch: bench.options.prefetch,
    observer: bench.metrics,
  });
  try {
    await consumer.start();
    await waitUntil(() => timing.completed >= count, timeoutMs, bench.options.signal);
  } finally {
    await consumer.stop();
  }
  return timing;
}

/**
 * Plain amqplib + pg with the same guarantees by hand: parse, one transaction holding the inbox record
 * (`on conflict do nothing`) and the same entity insert, commit, then ack.
 */
async function drainRaw(bench: Bench, queue: string, count: number, timeoutMs: number): Promise<DrainTiming> {
  const timing: DrainTiming = { completed: 0 };
  const channel = await bench.amqp.createChannel();
  const settle = (message: ConsumeMessage, ack: boolean) => {
    try {
      if (ack) channel.ack(message);
      else channel.nack(message, false, true);
    } catch {
      // the channel closed after a timeout; the broker requeues what was not acknowledged
    }
  };
  try {
    await channel.prefetch(bench.options.prefetch);
    await channel.consume(queue, (message) => {
      if (!message) return;
      timing.firstAt ??= performance.now();
      recordRaw(bench.pool, queue, message).then(
        () => {
          settle(message, true);
          timing.completed += 1;
          if (timing.completed === count) timing.lastAt = performance.now();
        },
        () => settle(message, false),
      );
    });
    await waitUntil(() => timing.completed >= count, timeoutMs, bench.options.signal);
  } finally {
    await channel.close().catch(() => undefined);
  }
  return timing;
}

async function recordRaw(pool: pg.Pool, consumer: string, message: ConsumeMessage): Promise<void> {
  const envelope = JSON.parse(message.content.toString('utf8')) as { id: string };
  const client = await pool.connect();
  try {
    await client.query('begin');
    const recorded = await client.query(`insert into ${INBOX} (consumer, message_id) values ($1, $2) on conflict do nothing returning message_id`, [
      consumer,
      envelope.id,
    ]);
    if (recorded.rowCount) await client.query(`insert into ${EFFECT} (id, message_id) values ($1, $2)`, [randomUUID(), envelope.id]);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
