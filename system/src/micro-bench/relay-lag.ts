import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import amqplib, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import pg from 'pg';
import { DriverRegisteredV2, type CloudEvent, type DriverRegisteredV2 as DriverRegistration } from '@onboarding/contracts';
import {
  Broker,
  CLOUDEVENTS_CONTENT_TYPE,
  DOMAIN_EXCHANGE,
  OutboxMessageSchema,
  OutboxRelay,
  addToOutbox,
  declareExchange,
  outboxAndInboxTablesSql,
} from '@onboarding/messaging';
import { ServiceMetrics, createLogger, openDatabase } from '@onboarding/service-kit';
import { isolatedEnvironment } from '@onboarding/test-infra';
import { percentile, round, settleWithin, sleep, waitUntil } from '../measure';

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

/**
 * Milliseconds on CLOCK_MONOTONIC, which every process of the machine shares (unlike `performance.now()`,
 * which counts from each process's start): commits are timed in the producer's process, arrivals in this one.
 */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A registration as the driver service would stage it (v2, the current major version). */
export function sampleRegistration(): DriverRegistration {
  const driverId = randomUUID();
  return {
    driverId,
    firstName: 'Micro',
    lastName: 'Bench',
    email: `micro.${driverId}@example.com`,
    phone: '+44 20 7946 0000',
    preferredLanguage: 'en',
    registeredAt: new Date().toISOString(),
    version: 1,
  };
}

/** The AMQP properties the outbox relay publishes an envelope with (see OutboxRelay.publishRow). */
export function relayProperties(envelope: CloudEvent): amqplib.Options.Publish {
  return {
    persistent: true,
    messageId: envelope.id,
    type: envelope.type,
    correlationId: envelope.correlationid,
    timestamp: Math.floor(Date.now() / 1000),
    contentType: CLOUDEVENTS_CONTENT_TYPE,
    headers: {},
  };
}

// ---------------------------------------------------------------------------------------------------------
// Worker processes. The relay runs in a process of its own, as in a service, and so does the producer:
// committing 1,000 rows/s through MikroORM takes most of one core, and sharing an event loop with it would
// measure the producer's CPU, not the relay.

type WorkerRole = 'relay' | 'producer';
type ProducerMode = 'outbox' | 'direct';

interface WorkerSettings {
  databaseUrl: string;
  amqpUrl: string;
  schema: string;
  mode: ProducerMode;
  ratePerSecond: number;
  warmupMs: number;
  durationMs: number;
}

/** [message id, commit time (monotonicMs), scheduled after the warm-up] */
type CommitRecord = [string, number, boolean];

type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'produced'; commits: CommitRecord[]; skipped: number; failed: number }
  | { kind: 'failed'; error: string };

type ParentMessage = { kind: 'stop' };

function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && 'kind' in value && typeof value.kind === 'string';
}

function isParentMessage(value: unknown): value is ParentMessage {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'stop';
}

/** This file, compiled: under ts-jest `__filename` is the TypeScript source, which node cannot run. */
function workerEntryPoint(): string {
  const entry = __filename.endsWith('.js') ? __filename : join(__dirname, '..', '..', 'dist', 'micro-bench', 'relay-lag.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the system package first (npx tsc -p tsconfig.build.json)`);
  return entry;
}

const SETTINGS_VARIABLE = 'MICRO_BENCH_WORKER_SETTINGS';

class Worker {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly waiting = new Set<(message: WorkerMessage) => void>();
  /** Messages that came before anyone asked for them. */
  private readonly unclaimed: WorkerMessage[] = [];

  constructor(role: WorkerRole, settings: WorkerSettings) {
    this.child = fork(workerEntryPoint(), [role], {
      env: { ...process.env, [SETTINGS_VARIABLE]: JSON.stringify(settings) },
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    // A send racing the worker's exit fails with EPIPE; the exit itself is reported below.
    this.child.on('error', () => undefined);
    this.child.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) this.dispatch(message);
    });
    void this.exited.then(() => this.dispatch({ kind: 'failed', error: `the ${role} process exited` }));
  }

  private dispatch(message: WorkerMessage): void {
    if (this.waiting.size === 0) this.unclaimed.push(message);
    for (const deliver of this.waiting) deliver(message);
  }

  /** The next message of the given kind; throws on a failure report, an exit or after `timeoutMs`. */
  next<K extends WorkerMessage['kind']>(kind: K, timeoutMs: number): Promise<Extract<WorkerMessage, { kind: K }>> {
    const early = this.unclaimed.findIndex((message) => message.kind === kind || message.kind === 'failed');
    if (early >= 0) {
      const [message] = this.unclaimed.splice(early, 1);
      if (message?.kind === kind) return Promise.resolve(message as Extract<WorkerMessage, { kind: K }>);
      return Promise.reject(new Error(message?.kind === 'failed' ? message.error : 'worker failed'));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(() => reject(new Error(`no "${kind}" from a worker within ${timeoutMs} ms`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiting.delete(deliver);
        settle();
      };
      const deliver = (message: WorkerMessage) => {
        if (message.kind === kind) finish(() => resolve(message as Extract<WorkerMessage, { kind: K }>));
        else if (message.kind === 'failed') finish(() => reject(new Error(message.error)));
      };
      this.waiting.add(deliver);
    });
  }

  requestStop(): void {
    if (this.child.connected) this.child.send({ kind: 'stop' } satisfies ParentMessage);
  }

  /** Asks the worker to stop and waits for it; kills it when it does not go in time. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.requestStop();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The relay process: an OutboxRelay wired as a service wires it, until the parent says stop or goes away. */
async function relayWorker(settings: WorkerSettings): Promise<void> {
  const logger = createLogger('micro-bench-relay', 'warn');
  const broker = new Broker({ url: settings.amqpUrl, connectionName: 'micro-bench.relay', logger });
  await broker.waitUntilConnected(10_000);
  const relay = new OutboxRelay({
    databaseUrl: settings.databaseUrl,
    schema: settings.schema,
    broker,
    logger,
    observer: new ServiceMetrics('micro-bench-relay'),
  });
  relay.start();
  process.send?.({ kind: 'ready' } satisfies WorkerMessage);
  await untilStopRequested();
  await relay.stop();
  await broker.close();
}

/** Resolves when the parent asks to stop or disconnects (it died): a worker never outlives the benchmark. */
function untilStopRequested(onStop?: () => void): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      onStop?.();
      resolve();
    };
    process.on('message', (message: unknown) => {
      if (isParentMessage(message)) stop();
    });
    process.once('disconnect', stop);
  });
}

/**
 * The producer process: one registration event per transaction through MikroORM and `addToOutbox`, as
 * services write them (the real table's NOTIFY trigger fires on each insert); in 'direct' mode it then
 * publishes the envelope itself with a confirm channel right after the commit.
 */
async function producerWorker(settings: WorkerSettings): Promise<void> {
  const logger = createLogger('micro-bench-producer', 'warn');
  const orm = await openDatabase({ databaseUrl: settings.databaseUrl, schema: settings.schema, entities: [OutboxMessageSchema], migrations: [], logger });
  let connection: ChannelModel | undefined;
  let publisher: ConfirmChannel | undefined;
  if (settings.mode === 'direct') {
    connection = await amqplib.connect(settings.amqpUrl, { noDelay: true });
    publisher = await connection.createConfirmChannel();
    await declareExchange(publisher);
  }
  const stopped = new AbortController();
  void untilStopRequested(() => stopped.abort());
  process.send?.({ kind: 'ready' } satisfies WorkerMessage);

  const commits: CommitRecord[] = [];
  const result = await produceAtRate(
    settings.ratePerSecond,
    settings.warmupMs,
    settings.durationMs,
    async (measured) => {
      const em = orm.em.fork();
      const data = sampleRegistration();
      const envelope = addToOutbox(em, DriverRegisteredV2, data, { source: 'micro-bench', subject: data.driverId, correlationId: data.driverId });
      await em.flush();
      commits.push([envelope.id, monotonicMs(), measured]);
      if (!publisher) return;
      const channel = publisher;
      await new Promise<void>((resolve, reject) =>
        channel.publish(DOMAIN_EXCHANGE, DriverRegisteredV2.routingKey, Buffer.from(JSON.stringify(envelope)), relayProperties(envelope), (err) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
        ),
      );
    },
    stopped.signal,
  );
  process.send?.({ kind: 'produced', commits, ...result } satisfies WorkerMessage);
  await connection?.close().catch(() => undefined);
  await orm.close(true);
}

async function runWorker(role: string | undefined): Promise<void> {
  try {
    const settings = JSON.parse(process.env[SETTINGS_VARIABLE] ?? '') as WorkerSettings;
    if (role === 'relay') await relayWorker(settings);
    else if (role === 'producer') await producerWorker(settings);
    else throw new Error(`unknown worker role ${role}`);
    process.exit(0);
  } catch (err) {
    process.send?.({ kind: 'failed', error: (err as Error).message } satisfies WorkerMessage);
    process.exit(1);
  }
}

interface ProducerResult {
  skipped: number;
  failed: number;
}

/**
 * Starts `write` at a fixed rate whatever its latency (an open loop). Timers fire every millisecond or so at
 * best, so each tick starts every row that has fallen due since the last one — each still its own
 * transaction. Rows scheduled after the warm-up are the measured ones.
 */
async function produceAtRate(
  ratePerSecond: number,
  warmupMs: number,
  durationMs: number,
  write: (measured: boolean) => Promise<void>,
  signal?: AbortSignal,
): Promise<ProducerResult> {
  const totalMs = warmupMs + durationMs;
  const totalRows = Math.ceil((ratePerSecond * totalMs) / 1000);
  // A second's worth of open transactions: beyond that the database is not keeping up and piling on more
  // would only measure the pile.
  const maxInFlight = Math.max(100, ratePerSecond);
  const inFlight = new Set<Promise<void>>();
  let issued = 0;
  let skipped = 0;
  let failed = 0;
  const started = performance.now();
  while (issued < totalRows && !signal?.aborted) {
    const elapsed = performance.now() - started;
    if (elapsed >= totalMs) break;
    const due = Math.min(totalRows, Math.floor((elapsed * ratePerSecond) / 1000) + 1);
    for (; issued < due; issued += 1) {
      if (inFlight.size >= maxInFlight) {
        skipped += 1;
        continue;
      }
      const measured = (issued * 1000) / ratePerSecond >= warmupMs;
      const work: Promise<void> = write(measured)
        .catch(() => {
          failed += 1;
        })
        .finally(() => inFlight.delete(work));
      inFlight.add(work);
    }
    await sleep(1);
  }
  await settleWithin(Promise.allSettled([...inFlight]), 15_000);
  return { skipped, failed };
}

// ---------------------------------------------------------------------------------------------------------

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
  const producer = new Worker('producer', settings);
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
 * The outbox relay's lag at a steady event rate: a producer process commits one outbox row per transaction,
 * an `OutboxRelay` in its own process publishes them, and a plain amqplib consumer here, on a queue bound to
 * the domain exchange, timestamps each arrival. For context, the same producer then publishes directly with
 * a confirm channel right after each commit (no outbox relay).
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
    await declareExchange(receiver);
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

    const relay = new Worker('relay', settings(RELAY_SCHEMA, 'outbox', 0, 0));
    closers.push(() => relay.stop());
    await relay.next('ready', WORKER_START_TIMEOUT_MS);
    options.log(`relay: ${options.ratePerSecond} rows/s for ${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s…`);
    const throughRelay = await producePhase(settings(RELAY_SCHEMA, 'outbox', options.warmupMs, options.durationMs), arrivals, receiveTimeoutMs, options.signal);
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

if (require.main === module) void runWorker(process.argv[2]);
