// The worker processes of the relay-lag benchmark (see relay-worker-protocol), forked as
// `node relay-worker.js relay|producer` by relay-worker-handle.
import amqplib, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { DriverRegisteredV2 } from '@onboarding/contracts';
import {
  Broker,
  CommittedOutboxPublisher,
  DOMAIN_EXCHANGE,
  MessagingMetrics,
  OutboxMessageSchema,
  OutboxRelay,
  addToOutbox,
  checkSharedObjects,
  publishOutboxAfterCommit,
} from '@onboarding/messaging';
import { ServiceMetrics, createLogger, openDatabase } from '@onboarding/service-kit';
import { settleWithin, sleep } from '../bench/measure';
import { SETTINGS_VARIABLE, isParentMessage, monotonicMs, type CommitRecord, type WorkerMessage, type WorkerSettings } from './relay-worker-protocol';
import { relayProperties, sampleRegistration } from './sample-event';

/**
 * The relay process: an OutboxRelay wired as a service wires it, until the parent says stop or goes away. Since the
 * producer publishes its rows right after commit, the relay only publishes what that left behind (nothing, when all
 * goes well): it runs for the database load of its polls, as beside a service.
 */
async function relayWorker(settings: WorkerSettings): Promise<void> {
  const logger = createLogger('micro-bench-relay', 'warn');
  const broker = new Broker({ url: settings.amqpUrl, connectionName: 'micro-bench.relay', logger });
  await broker.waitUntilConnected(10_000);
  const relay = new OutboxRelay({
    databaseUrl: settings.databaseUrl,
    schema: settings.schema,
    broker,
    logger,
    observer: new MessagingMetrics(new ServiceMetrics('micro-bench-relay').registry),
  });
  relay.start();
  process.send?.({ kind: 'ready' } satisfies WorkerMessage);
  await untilStopRequested();
  await relay.stop();
  await broker.close();
}

/**
 * Sends `message` to the parent and resolves once it has been handed to the channel. `process.send` is
 * asynchronous: a large message (the producer's thousands of commit records) sent just before `process.exit` was
 * lost, and the parent saw only the exit ("the producer process exited") in longer runs.
 */
function tell(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
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
 * services write them. In 'outbox' mode each commit hands its row to a CommittedOutboxPublisher, as in a service
 * (published with a confirm, marked published in batches); in 'direct' mode it publishes the envelope itself with a
 * plain confirm channel right after the commit, and marks nothing.
 */
async function producerWorker(settings: WorkerSettings): Promise<void> {
  const logger = createLogger('micro-bench-producer', 'warn');
  const orm = await openDatabase({
    databaseUrl: settings.databaseUrl,
    schema: settings.schema,
    entities: [OutboxMessageSchema],
    migrations: [],
    logger,
  });
  let connection: ChannelModel | undefined;
  let publisher: ConfirmChannel | undefined;
  let afterCommit: { broker: Broker; publisher: CommittedOutboxPublisher } | undefined;
  if (settings.mode === 'direct') {
    connection = await amqplib.connect(settings.amqpUrl, { noDelay: true });
    publisher = await connection.createConfirmChannel();
    await checkSharedObjects(publisher);
  } else {
    const broker = new Broker({ url: settings.amqpUrl, connectionName: 'micro-bench.producer', logger });
    await broker.waitUntilConnected(10_000);
    afterCommit = { broker, publisher: new CommittedOutboxPublisher({ databaseUrl: settings.databaseUrl, schema: settings.schema, broker, logger }) };
    afterCommit.publisher.start();
    publishOutboxAfterCommit(orm, afterCommit.publisher, logger);
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
  await tell({ kind: 'produced', commits, ...result });
  await afterCommit?.publisher.stop();
  await afterCommit?.broker.close().catch(() => undefined);
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
    await tell({ kind: 'failed', error: (err as Error).message });
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

if (require.main === module) void runWorker(process.argv[2]);
