import pg from 'pg';
import amqplib from 'amqplib';
import { Broker, MessagingMetrics, outboxAndInboxTablesSql } from '@onboarding/messaging';
import { ServiceMetrics, createLogger, openDatabase } from '@onboarding/service-kit';
import { isolatedEnvironment } from '@onboarding/test-infra';
import { round } from '../bench/measure';
import { ConsumedEffectSchema, EFFECT, POOL_MAX, SCHEMA, drain, type Bench, type RunResult, type Side } from './consume-run';

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
    // A pool without an 'error' listener crashes the process when the server ends an idle connection, as
    // dropping the bench database at the end does; such an error is expected there and harmless.
    pool.on('error', () => undefined);
    closers.push(() => pool.end());
    const amqp = await amqplib.connect(environment.amqpUrl, { noDelay: true });
    amqp.on('error', () => undefined);
    closers.push(() => amqp.close().catch(() => undefined));
    const broker = new Broker({ url: environment.amqpUrl, connectionName: 'micro-bench.consume', logger });
    closers.push(() => broker.close().catch(() => undefined));
    await broker.waitUntilConnected(10_000);
    const bench: Bench = {
      prefetch: options.prefetch,
      signal: options.signal,
      orm,
      pool,
      broker,
      metrics: new MessagingMetrics(new ServiceMetrics('micro-bench').registry),
      logger,
      amqp,
      runs: 0,
    };

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
