import { randomUUID } from 'node:crypto';
import { EntitySchema, type MikroORM } from '@mikro-orm/core';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type pg from 'pg';
import { DriverRegisteredV2, createEnvelope } from '@onboarding/contracts';
import {
  DEFAULT_RETRY_DELAYS_MS,
  DOMAIN_EXCHANGE,
  MessageConsumer,
  type MessagingMetrics,
  checkSharedObjects,
  handlerFor,
  retryQueueName,
  type Broker,
} from '@onboarding/messaging';
import type { createLogger } from '@onboarding/service-kit';
import { waitUntil } from '../bench/measure';
import { relayProperties, sampleRegistration } from './sample-event';

// One measured run of the consume benchmark: a fresh queue filled with N messages, drained by one side (the
// messaging runtime or plain amqplib + pg), then checked for lost, duplicated and parked messages.

export type Side = 'raw' | 'runtime';

export interface RunResult {
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
export const ConsumedEffectSchema = new EntitySchema<ConsumedEffect>({
  class: ConsumedEffect,
  tableName: 'effect',
  properties: { id: { type: 'uuid', primary: true }, messageId: { type: 'string' } },
});

export const SCHEMA = 'micro_consume';
const INBOX = `"${SCHEMA}"."inbox"`;
export const EFFECT = `"${SCHEMA}"."effect"`;
/** Same as the services' ORM pool (openDatabase), so both sides run at most this many transactions at once. */
export const POOL_MAX = 10;

/** What every run shares: the database, the broker connections, the consumer settings. */
export interface Bench {
  prefetch: number;
  signal?: AbortSignal;
  orm: MikroORM;
  pool: pg.Pool;
  broker: Broker;
  metrics: MessagingMetrics;
  logger: ReturnType<typeof createLogger>;
  amqp: ChannelModel;
  runs: number;
}

/** One run: a fresh queue filled with `count` messages, drained by one side, checked, deleted. */
export async function drain(bench: Bench, side: Side, count: number): Promise<RunResult> {
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
      const parkedRows = await bench.pool.query<{ parked: string }>(
        `select count(*) as parked from "${SCHEMA}"."parked_message" where source_queue = $1`,
        [queue],
      );
      parked = Number(parkedRows.rows[0]?.parked ?? 0);
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
    await checkSharedObjects(channel);
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(queue, DOMAIN_EXCHANGE, DriverRegisteredV2.routingKey);
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const data = sampleRegistration();
      const envelope = createEnvelope(DriverRegisteredV2, data, { source: 'micro-bench', subject: data.driverId, correlationId: randomUUID() });
      ids.push(envelope.id);
      const body = Buffer.from(JSON.stringify(envelope));
      if (!channel.publish(DOMAIN_EXCHANGE, DriverRegisteredV2.routingKey, body, { ...relayProperties(envelope), userId: bench.broker.user })) {
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

/** A real MessageConsumer, wired as services wire it, with one handler committing one insert in one statement. */
async function drainRuntime(bench: Bench, queue: string, count: number, timeoutMs: number): Promise<DrainTiming> {
  const timing: DrainTiming = { completed: 0 };
  const recordEffect = handlerFor(DriverRegisteredV2, async (event, context) => {
    timing.firstAt ??= performance.now();
    // As the services' handlers commit since 2026-11-22: inbox row and effect in one statement (one round trip).
    await context.commitInOneStatement({
      effects: [{ sql: `insert into ${EFFECT} ("id", "message_id") values (?, ?)`, params: [randomUUID(), event.id] }],
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
    prefetch: bench.prefetch,
    observer: bench.metrics,
    // `fill` publishes as the bench's own broker user, the one trusted here.
    trustedPublisher: () => bench.broker.user,
  });
  try {
    await consumer.start();
    await waitUntil(() => timing.completed >= count, timeoutMs, bench.signal);
  } finally {
    await consumer.stop();
  }
  return timing;
}

/**
 * Plain amqplib + pg with the same guarantees by hand: parse, one statement holding the inbox record
 * (`on conflict do nothing`) and the same insert, then ack.
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
    await channel.prefetch(bench.prefetch);
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
    await waitUntil(() => timing.completed >= count, timeoutMs, bench.signal);
  } finally {
    await channel.close().catch(() => undefined);
  }
  return timing;
}

async function recordRaw(pool: pg.Pool, consumer: string, message: ConsumeMessage): Promise<void> {
  const envelope = JSON.parse(message.content.toString('utf8')) as { id: string };
  const client = await pool.connect();
  try {
    // The cheapest correct way, as the runtime side: one statement (its own transaction) records the message in the
    // inbox and, only if it was not there yet, inserts the effect.
    await client.query(
      `with recorded as (insert into ${INBOX} (consumer, message_id) values ($1, $2) on conflict do nothing returning 1)
       insert into ${EFFECT} (id, message_id) select $3, $2 where exists (select 1 from recorded)`,
      [consumer, envelope.id, randomUUID()],
    );
  } finally {
    client.release();
  }
}
