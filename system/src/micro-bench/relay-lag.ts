import amqplib from 'amqplib';
import pg from 'pg';
import { DriverRegisteredV2 } from '@onboarding/contracts';
import { DOMAIN_EXCHANGE, checkSharedObjects, outboxAndInboxTablesSql } from '@onboarding/messaging';
import { isolatedEnvironment } from '@onboarding/test-infra';
import { percentile, round, waitUntil } from '../bench/measure';
import { WorkerProcess } from './relay-worker-handle';
import { monotonicMs, type ProducerMode, type WorkerSettings } from './relay-worker-protocol';

export interface RelayLagOptions {
  /** Outbox rows committed per second, each in its own transaction. */
  ratePerSecond: number;
  durationMs: number;
  warmupMs: number;
  /** How long the direct-publish baseline runs (after its own warm-up); it is context, not the measure. */
  directDurationMs: number;
  /** How long to wait, once the producer stopped, for rows still on their way before counting them lost. */
  receiveTimeoutMs?: number;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface RelayLagReport {
  targetRatePerSecond: number;
  /** Rows committed per second in the measured window (after warm-up). */
  relayRatePerSecond: number;
  relayLagP50Ms: number;
  relayLagP95Ms: number;
  relayLagP99Ms: number;
  relayLagMaxMs: number;
  relayMeasured: number;
  /** Committed (warm-up included) and never received within the timeout. */
  relayLost: number;
  relayDuplicates: number;
  /** Rows the producer did not even start because too many of its transactions were still open. */
  relayProducerSkipped: number;
  /** Producer transactions that failed (not committed, so not lost by the relay). */
  relayProducerFailed: number;
  directRatePerSecond: number;
  directLagP50Ms: number;
  directLagP99Ms: number;
  directLost: number;
  durationMs: number;
  directDurationMs: number;
}

const RELAY_SCHEMA = 'micro_relay';
const DIRECT_SCHEMA = 'micro_direct';
const RECEIVER_QUEUE = 'micro.relay.receiver';
const WORKER_START_TIMEOUT_MS = 30_000;

/** Arrival times by message id, taken by the receiver in this process. */
class Arrivals {
  private readonly at = new Map<string, number>();
  duplicates = 0;

  arrived(id: string): void {
    if (this.at.has(id)) this.duplicates += 1;
    else this.at.set(id, monotonicMs());
  }

  has(id: string): boolean {
    return this.at.has(id);
  }

  get(id: string): number | undefined {
    return this.at.get(id);
  }
}

interface PhaseResult {
  lagsMs: number[];
  measured: number;
  lost: number;
  skipped: number;
  failed: number;
}

/** One producer run to its end, then the wait for its rows to arrive; lag = arrival − commit. */
async function producePhase(settings: WorkerSettings, arrivals: Arrivals, receiveTimeoutMs: number, signal?: AbortSignal): Promise<PhaseResult> {
  const producer = new WorkerProcess('producer', settings);
  const abort = () => producer.requestStop();
  signal?.addEventListener('abort', abort);
  try {
    await producer.next('ready', WORKER_START_TIMEOUT_MS);
    const produced = await producer.next('produced', settings.warmupMs + settings.durationMs + 30_000);
    await waitUntil(() => produced.commits.every(([id]) => arrivals.has(id)), receiveTimeoutMs, signal, 20);
    const lagsMs: number[] = [];
    let lost = 0;
    for (const [id, committedAt, measured] of produced.commits) {
      const arrival = arrivals.get(id);
      if (arrival === undefined) lost += 1;
      // The message can overtake the producer's own continuation after the commit, hence ≥ 0.
      else if (measured) lagsMs.push(Math.max(0, arrival - committedAt));
    }
    const measured = produced.commits.filter(([, , isMeasured]) => isMeasured).length;
    return { lagsMs, measured, lost, skipped: produced.skipped, failed: produced.failed };
  } finally {
    signal?.removeEventListener('abort', abort);
    await producer.stop();
  }
}

/**
 * The outbox's lag at a steady event rate: a producer process commits one outbox row per transaction and publishes
 * it right after the commit as services do (CommittedOutboxPublisher), an `OutboxRelay` runs beside it in its own
 * process as the fallback, and a plain amqplib consumer here, on a queue bound to the domain exchange, timestamps
 * each arrival. For context, the same producer then publishes directly with a plain confirm channel right after each
 * commit (no outbox bookkeeping).
 */
export async function runRelayLagBench(options: RelayLagOptions): Promise<RelayLagReport> {
  const environment = await isolatedEnvironment('micro-relay');
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const admin = new pg.Client({ connectionString: environment.databaseUrl });
    await admin.connect();
    try {
      for (const schema of [RELAY_SCHEMA, DIRECT_SCHEMA]) {
        await admin.query(`create schema "${schema}"`);
        for (const sql of outboxAndInboxTablesSql(schema)) await admin.query(sql);
      }
    } finally {
      await admin.end();
    }

    const receiverConnection = await amqplib.connect(environment.amqpUrl, { noDelay: true });
    receiverConnection.on('error', () => undefined);
    closers.push(() => receiverConnection.close().catch(() => undefined));
    const receiver = await receiverConnection.createConfirmChannel();
    await checkSharedObjects(receiver);
    // A quorum queue, as every consuming service has: its replication is part of what a publish waits for.
    await receiver.assertQueue(RECEIVER_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await receiver.bindQueue(RECEIVER_QUEUE, DOMAIN_EXCHANGE, DriverRegisteredV2.routingKey);
    const arrivals = new Arrivals();
    await receiver.consume(
      RECEIVER_QUEUE,
      (message) => {
        const id: unknown = message?.properties.messageId;
        if (typeof id === 'string') arrivals.arrived(id);
      },
      { noAck: true },
    );

    const receiveTimeoutMs = options.receiveTimeoutMs ?? 10_000;
    const settings = (schema: string, mode: ProducerMode, warmupMs: number, durationMs: number): WorkerSettings => ({
      databaseUrl: environment.databaseUrl,
      amqpUrl: environment.amqpUrl,
      schema,
      mode,
      ratePerSecond: options.ratePerSecond,
      warmupMs,
      durationMs,
    });

    const relay = new WorkerProcess('relay', settings(RELAY_SCHEMA, 'outbox', 0, 0));
    closers.push(() => relay.stop());
    await relay.next('ready', WORKER_START_TIMEOUT_MS);
    options.log(`relay: ${options.ratePerSecond} rows/s for ${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s…`);
    const throughRelay = await producePhase(
      settings(RELAY_SCHEMA, 'outbox', options.warmupMs, options.durationMs),
      arrivals,
      receiveTimeoutMs,
      options.signal,
    );
    await relay.stop();
    const relayDuplicates = arrivals.duplicates;
    options.log(`  p99 ${round(percentile(throughRelay.lagsMs, 99), 2)} ms over ${throughRelay.lagsMs.length} rows, lost ${throughRelay.lost}`);

    const directWarmupMs = Math.min(options.warmupMs, 1_000);
    options.log(`direct publish after commit (baseline): ${options.ratePerSecond}/s for ${options.directDurationMs / 1000} s…`);
    const direct = options.signal?.aborted
      ? { lagsMs: [], measured: 0, lost: 0, skipped: 0, failed: 0 }
      : await producePhase(settings(DIRECT_SCHEMA, 'direct', directWarmupMs, options.directDurationMs), arrivals, receiveTimeoutMs, options.signal);

    return {
      targetRatePerSecond: options.ratePerSecond,
      relayRatePerSecond: round(throughRelay.measured / (options.durationMs / 1000)),
      relayLagP50Ms: round(percentile(throughRelay.lagsMs, 50), 2),
      relayLagP95Ms: round(percentile(throughRelay.lagsMs, 95), 2),
      relayLagP99Ms: round(percentile(throughRelay.lagsMs, 99), 2),
      relayLagMaxMs: round(percentile(throughRelay.lagsMs, 100), 2),
      relayMeasured: throughRelay.lagsMs.length,
      relayLost: throughRelay.lost,
      relayDuplicates,
      relayProducerSkipped: throughRelay.skipped,
      relayProducerFailed: throughRelay.failed,
      directRatePerSecond: round(direct.measured / (options.directDurationMs / 1000)),
      directLagP50Ms: round(percentile(direct.lagsMs, 50), 2),
      directLagP99Ms: round(percentile(direct.lagsMs, 99), 2),
      directLost: direct.lost,
      durationMs: options.durationMs,
      directDurationMs: options.directDurationMs,
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await environment.drop();
  }
}
