import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, GetMessage } from 'amqplib';
import type { Logger } from 'pino';
import { CloudEvent, validate, type EnvelopeOptions, type EventContract, type EventData, type ValidationIssue } from '@onboarding/contracts';
import type { Broker } from './broker';
import { withProcessSpan, type MessagingObserver, type ProcessingOutcome } from './observability';
import { isDatabaseUnreachable, scrubPersonalData } from '@onboarding/service-kit';
import { PermanentMessageError, TransientMessageError } from './errors';
import { buildStatementCommit, executeStatementCommit, isInboxConflict, type StatementCommit, type StatementOutboxRow } from './one-statement-commit';
import { contentMessageId, insertParked, replayHeaders, splitPersonalData, type ParkedRecord } from './parked-message';
import {
  DEFAULT_RETRY_DELAYS_MS,
  DOMAIN_EXCHANGE,
  declareConsumerTopology,
  parkingQueueName,
  redirectExchangeName,
  retryQueueName,
} from './topology';

/** How long stop() waits for messages in flight to finish (under the 20 s drain the service's grace period leaves). */
export const CONSUMER_DRAIN_MS = 10_000;

export interface MessageContext {
  /** EntityManager forked for this message, for reads before the commit. */
  readonly em: EntityManager;
  readonly envelope: CloudEvent;
  /** 1 on first delivery, then counts retries. */
  readonly attempt: number;
  /**
   * Runs `work` in one transaction that also records this message in the inbox. A message that is already
   * recorded (redelivered, or processed concurrently elsewhere) runs nothing and is acknowledged.
   */
  commit(work: (em: EntityManager) => Promise<void>): Promise<void>;
  /**
   * The hot path's commit: the inbox record, the effect (SQL statements) and the outbox rows of `events` go to
   * PostgreSQL as one statement, so one round trip and no unit of work (see `buildStatementCommit`). An already
   * recorded message commits nothing and is acknowledged, as with `commit`. Resolves to the outbox rows written.
   */
  commitInOneStatement(commit: StatementCommit): Promise<StatementOutboxRow[]>;
  /** The service's schema, where the inbox and the outbox live: the one to name tables with in SQL effects. */
  readonly schema: string;
  /** Envelope options for an event caused by this message: same correlation id, causation = this message. */
  causedBy(subject: string): EnvelopeOptions;
}

export interface MessageHandler<C extends EventContract = EventContract> {
  readonly contract: C;
  handle(event: CloudEvent<EventData<C>>, context: MessageContext): Promise<void>;
  /**
   * Called instead of parking when transient failures used up every retry, for handlers whose saga must
   * move on (emit a failure event). Whatever it commits settles the message.
   */
  onRetriesExhausted?(event: CloudEvent<EventData<C>>, context: MessageContext, error: Error): Promise<void>;
}

/** Pairs a contract with its handler so the handler's event type is inferred from the contract. */
export function handlerFor<C extends EventContract>(
  contract: C,
  handle: MessageHandler<C>['handle'],
  onRetriesExhausted?: MessageHandler<C>['onRetriesExhausted'],
): MessageHandler<C> {
  return onRetriesExhausted ? { contract, handle, onRetriesExhausted } : { contract, handle };
}

export interface MessageConsumerOptions {
  /** Name used as CloudEvents `source` of caused events and as the inbox consumer name. */
  service: string;
  queue: string;
  schema: string;
  broker: Broker;
  orm: MikroORM;
  /** Each handler is only ever called with an event its own contract validated. */
  handlers: readonly MessageHandler[];
  /** Keys an earlier version bound and this one no longer handles (see ConsumerTopology). */
  retiredRoutingKeys?: readonly string[];
  /**
   * The broker user allowed to publish events of a routing key (`<type>.v<major>`): its producer's. An event
   * whose verified publisher is anyone else is parked as `untrusted-publisher` before any handler sees it.
   */
  trustedPublisher(routingKey: string): string | undefined;
  logger: Logger;
  prefetch?: number;
  retryDelaysMs?: readonly number[];
  drainTimeoutMs?: number;
  observer?: MessagingObserver;
  /** Longest wait between two database probes while paused for an outage (default 1 s). */
  databaseProbeMaxMs?: number;
  /**
   * A message delivered this many times without being settled (its consumer crashed or lost its connection each
   * time) is parked as `delivery-limit` before any handler runs again (default 5; `MESSAGE_DELIVERY_LIMIT`).
   */
  deliveryLimit?: number;
  /**
   * Told the outbox rows a `commitInOneStatement` committed, right after its commit (for an in-process publisher's
   * `publishCommitted(rows)`). The relay publishes them anyway; this only lets them go sooner.
   */
  onOutboxCommitted?(rows: StatementOutboxRow[]): void;
}

/** The consumer's default `MESSAGE_DELIVERY_LIMIT`. */
export const DEFAULT_DELIVERY_LIMIT = 5;

export type ParkReason =
  | 'unparseable'
  | 'invalid-envelope'
  | 'no-handler'
  | 'schema-validation'
  | 'untrusted-publisher'
  | 'permanent-failure'
  | 'retries-exhausted'
  | 'delivery-limit';

/** Where a consumer keeps, on a message it retries or parks, the publisher it verified on first receipt. */
export const VERIFIED_PUBLISHER_HEADER = 'x-verified-publisher';

/** Set on a message a consumer put back on its queue during a database outage: it may have been processed. */
const RETURNED_HEADER = 'x-returned-in-outage';

/**
 * On a copy the consumer published itself (a return, a retry): how many deliveries of the message before the copy
 * ended without being settled. The broker's `x-delivery-count` starts again at zero on a new copy, so without it
 * a database outage or a retry would reset the count of a message that keeps crashing its consumer.
 */
const EARLIER_DELIVERIES_HEADER = 'x-earlier-deliveries';
/** When this consumer first received the message (kept across its own copies), for the parked row. */
const FIRST_RECEIVED_HEADER = 'x-first-received-at';

/** Messages in a row that were not suspects, after which a careful consumer takes its configured prefetch again. */
const CALM_AFTER = 32;

class AlreadyProcessed extends Error {}

/**
 * Runs handlers for one work queue: validates each message against its contract, records it in the inbox in
 * the same transaction as its effect, acknowledges only after commit, retries transient failures through
 * delay queues with backoff and jitter, and parks what cannot be processed with the reason in its headers.
 */
export class MessageConsumer {
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly retryDelaysMs: readonly number[];
  private readonly inFlight = new Set<Promise<void>>();
  private channel?: ChannelWrapper;
  private channelGeneration = 0;
  private accepting = false;
  /** The database is unreachable: the consumer is cancelled and what still arrives goes back to the queue. */
  private paused = false;
  /** A message suspected of crashing the consumer is being handled alone: what else arrives goes back to the queue. */
  private isolating = false;
  /** The work of the suspect being isolated, which the isolation must not wait for. */
  private suspectWork?: Promise<void>;
  /** A consumer is registered on the channel (not cancelled by a pause or an isolation). */
  private consuming = false;
  /** The latest consumer registration, until amqp-connection-manager knows its tag (see cancel). */
  private registering?: Promise<unknown>;
  /**
   * After an isolation the consumer takes one message at a time (prefetch 1), so the other suspects of the same
   * crash are each alone in flight without being returned; back to the configured prefetch after CALM_AFTER
   * messages in a row that were not suspects.
   */
  private careful = false;
  private calm = 0;
  private readonly deliveryLimit: number;
  private wakeProbe?: () => void;
  private parkingQueueTimer?: NodeJS.Timeout;

  private readonly contracts: EventContract[];

  constructor(private readonly options: MessageConsumerOptions) {
    for (const handler of options.handlers) this.handlers.set(handler.contract.routingKey, handler);
    this.contracts = options.handlers.map((handler) => handler.contract);
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.deliveryLimit = options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  isConsuming(): boolean {
    return this.accepting && !this.paused && this.options.broker.isConnected();
  }

  async start(): Promise<void> {
    this.accepting = true;
    const topology = {
      queue: this.options.queue,
      routingKeys: [...this.handlers.keys()],
      retiredRoutingKeys: this.options.retiredRoutingKeys,
      retryDelaysMs: this.retryDelaysMs,
    };
    this.channel = this.options.broker.createChannel(`${this.options.queue}.consumer`, (channel: ConfirmChannel) => {
      // Each (re)connection is a new channel: a delivery tag of the old one must never be acked on it (the
      // broker would close it) and is simply dropped; the broker redelivers that message. The count moves here,
      // in the setup, because amqp-connection-manager restarts consumers before it emits 'connect'.
      this.channelGeneration += 1;
      return declareConsumerTopology(channel, topology);
    });
    this.channel.on('error', (err: Error) => this.options.logger.error({ err: err.message }, 'consumer channel setup failed'));
    await this.channel.waitForConnect();
    await this.moveParkingQueue();
    // Every minute too: the broker's own delivery limit (broker-setup's policy) dead-letters into that queue.
    this.parkingQueueTimer = setInterval(() => void this.moveParkingQueue(), 60_000);
    this.parkingQueueTimer.unref();
    await this.consume();
  }

  private async moveParkingQueue(): Promise<void> {
    if (!this.accepting) return;
    await this.moveLegacyParkingQueue().catch((err: Error) =>
      this.options.logger.warn({ err: err.message }, 'could not move the parking queue into the parked-message table; tried again in a minute'),
    );
  }

  /** Registers the consumer; amqp-connection-manager re-registers it after every reconnect until it is cancelled. */
  private async consume(): Promise<void> {
    if (this.consuming || !this.accepting) return;
    this.consuming = true;
    this.registering = this.channel?.consume(
      this.options.queue,
      (message) => {
        if (!this.accepting) return;
        const generation = this.channelGeneration;
        const earlier = earlierDeliveries(message);
        const suspect = !this.paused && !this.isolating && !this.careful && earlier > 0 && earlier < this.deliveryLimit;
        if (this.careful && !this.paused && !this.isolating) this.calm = earlier > 0 ? 0 : this.calm + 1;
        // Sent before a cancel took effect: during an outage it would only fail on the database, and beside a
        // suspect it would share the suspect's fate if that crashes the process: either way it goes back.
        const settled =
          this.paused || this.isolating
            ? this.returnToQueue(message, generation)
            : suspect
              ? this.isolate(message, generation)
              : this.process(message, generation).then(() => this.leaveCarefulModeWhenCalm());
        const work = settled.catch((err: Error) => this.options.logger.error({ err: err.message }, 'consumer failed to settle a message'));
        if (suspect) this.suspectWork = work;
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      },
      { prefetch: this.careful ? 1 : (this.options.prefetch ?? 16) },
    );
    await this.registering;
  }

  private async leaveCarefulModeWhenCalm(): Promise<void> {
    if (!this.careful || this.calm < CALM_AFTER || this.paused || this.isolating) return;
    this.careful = false;
    this.calm = 0;
    await this.cancel();
    if (!this.paused && !this.isolating) await this.consume();
  }

  private async cancel(): Promise<void> {
    this.consuming = false;
    // A delivery can arrive (and ask for a cancel) before amqp-connection-manager has recorded the new consumer's
    // tag; cancelAll would then forget that consumer without cancelling it, leaving it consuming unseen.
    await this.registering?.catch(() => undefined);
    await this.channel?.cancelAll().catch((err: Error) => this.options.logger.warn({ err: err.message }, 'consumer cancel failed'));
  }

  /**
   * A message that was already delivered without being settled (the process died or its connection was cut while
   * it was in flight) may be what killed the process. It is handled alone: the consumer stops taking deliveries,
   * lets the others in flight finish, and returns what still arrives to the queue unchanged; so when it does
   * crash the process again, only its own delivery count grows, and the delivery limit parks it and nothing else.
   * Every message in flight at a crash becomes such a suspect once; after the first isolation the consumer takes one
   * message at a time for a while (see `careful`), so the others are handled alone without being returned. This
   * costs throughput for a moment after a crash or a cut connection, and nothing otherwise.
   */
  private async isolate(message: ConsumeMessage, generation: number): Promise<void> {
    this.isolating = true;
    try {
      await this.cancel();
      // Once the cancel is confirmed nothing more arrives: everything else in flight, returns included, settles
      // (so its ack is on its way) before the suspect runs.
      for (let round = 0; round < 10; round += 1) {
        const others = [...this.inFlight].filter((work) => work !== this.suspectWork);
        if (others.length === 0) break;
        await Promise.allSettled(others);
      }
      await this.process(message, generation);
    } finally {
      this.careful = true;
      this.calm = 0;
      this.isolating = false;
      if (!this.paused) await this.consume();
    }
  }

  /**
   * `<queue>.parked` holds what older versions parked there (before parked messages were kept in the table) and
   * what the broker's own delivery limit dead-letters there (broker-setup's policy, a limit above the consumer's).
   * Whatever is in it is moved into the table (each acknowledged only after its row is committed), so nothing is
   * lost.
   * The empty queue is left in place, not deleted (which the service's rights would allow): during a rolling
   * upgrade a replica of the old version still parks there, and a queue deleted under it would make those parks
   * unroutable on the redirect exchange, which drops them. The next start of any replica moves them.
   */
  private async moveLegacyParkingQueue(): Promise<void> {
    const name = parkingQueueName(this.options.queue);
    const channel = this.options.broker.createChannel(`${this.options.queue}.legacy-parked`, async () => undefined);
    channel.on('error', () => undefined);
    try {
      await channel.waitForConnect();
      // Declared rather than checked: checking a queue that is not there would close the channel.
      const { messageCount } = await channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await channel.bindQueue(name, redirectExchangeName(this.options.queue), name);
      let moved = 0;
      for (let i = 0; i < messageCount + 1000; i += 1) {
        const message = await channel.get(name, { noAck: false });
        if (!message) break;
        await insertParked(this.options.orm.em.fork(), this.options.schema, this.legacyRecord(message));
        channel.ack(message);
        moved += 1;
      }
      if (moved > 0) this.options.logger.info({ moved, queue: name }, 'old parking queue moved into the parked-message table');
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  private legacyRecord(message: GetMessage): ParkedRecord {
    const headers = message.properties.headers ?? {};
    const { payload, personal } = splitPersonalData(message.content);
    const decoded = decodeMessage(message.content, this.contracts);
    const publisher: unknown = headers[VERIFIED_PUBLISHER_HEADER];
    const parkedAt = Date.parse(String(headers['x-parked-at'] ?? ''));
    const brokerLimit = headers['x-first-death-reason'] === 'delivery_limit';
    return {
      sourceQueue: String(headers['x-original-queue'] ?? headers['x-first-death-queue'] ?? this.options.queue),
      messageId: String(message.properties.messageId ?? (decoded.ok ? decoded.envelope.id : contentMessageId(message.content))),
      type: message.properties.type as string | undefined,
      routingKey: String(headers['x-original-routing-key'] ?? message.fields.routingKey),
      subject: decoded.ok ? decoded.envelope.subject : undefined,
      reason: String(headers['x-parked-reason'] ?? (brokerLimit ? 'delivery-limit' : 'unknown')),
      error: brokerSafe(String(headers['x-error'] ?? (brokerLimit ? `dead-lettered by the broker's own delivery limit` : ''))),
      attempts: Number(headers['x-attempts'] ?? 0),
      deliveryCount: 0,
      verifiedPublisher: typeof publisher === 'string' ? publisher : undefined,
      properties: this.preservedProperties(message).record,
      headers: replayHeaders(headers),
      payload,
      personalData: personal,
      firstReceivedAt: Number.isFinite(parkedAt) ? new Date(parkedAt) : undefined,
      parkedBy: String(headers['x-parked-by'] ?? this.options.service),
    };
  }

  /** Stops taking messages, lets the in-flight ones finish (bounded), then closes the channel. */
  async stop(): Promise<void> {
    this.accepting = false;
    clearInterval(this.parkingQueueTimer);
    this.wakeProbe?.();
    if (!this.channel) return;
    this.consuming = false;
    await this.registering?.catch(() => undefined);
    await this.channel.cancelAll().catch(() => undefined);
    if (this.inFlight.size > 0) {
      const drainMs = this.options.drainTimeoutMs ?? CONSUMER_DRAIN_MS;
      const drained = Promise.allSettled([...this.inFlight]);
      const timeout = new Promise((resolve) => setTimeout(resolve, drainMs).unref());
      // In-flight messages wait on the database; when it stopped answering (a partition: no reset, queries hang)
      // none of them can commit, so waiting the whole drain time only delays the stop. They go back to the queue
      // unacknowledged when the channel closes, and the inbox dedupes any that did commit.
      const unreachable = this.databaseStopsAnswering(drainMs);
      await Promise.race([drained, timeout, unreachable.settled]);
      unreachable.cancel();
    }
    await this.channel.close().catch(() => undefined);
  }

  /** Resolves once a `select 1` fails or takes over a second; probes every half second for at most `forMs`. */
  private databaseStopsAnswering(forMs: number): { settled: Promise<void>; cancel(): void } {
    let cancelled = false;
    const settled = (async () => {
      for (const end = Date.now() + forMs; !cancelled && Date.now() < end;) {
        const answered = this.options.orm.isConnected().catch(() => false);
        const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), 1_000).unref());
        if (!(await Promise.race([answered, timer]))) return;
        await new Promise((resolve) => setTimeout(resolve, 500).unref());
      }
      await new Promise<never>(() => undefined); // cancelled or out of time: the other branches decide
    })();
    return { settled, cancel: () => (cancelled = true) };
  }

  private async process(message: ConsumeMessage, generation: number): Promise<void> {
    const attempt = Number(message.properties.headers?.['x-attempt'] ?? 0) + 1;
    const routingKey = originalRoutingKey(message);
    const attributes = {
      'messaging.message.id': String(message.properties.messageId ?? ''),
      'messaging.message.body.size': message.content.length,
      'messaging.destination.subscription.name': this.options.queue,
      'messaging.rabbitmq.message.delivery_tag': message.fields.deliveryTag,
      ...(message.properties.correlationId ? { 'messaging.message.conversation_id': String(message.properties.correlationId) } : {}),
      ...(attempt > 1 ? { 'messaging.message.attempt': attempt } : {}),
    };
    const started = process.hrtime.bigint();
    const outcome = await withProcessSpan(routingKey, message.properties.headers ?? {}, attributes, (span) =>
      this.settle(message, generation, attempt).then((result) => {
        span.setAttribute('messaging.outcome', result);
        return result;
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.options.observer?.processed?.(this.options.queue, routingKey, outcome, seconds);
  }

  /** Processes one delivery to the end: acked, retried later or parked. Says which. */
  private async settle(message: ConsumeMessage, generation: number, attempt: number): Promise<ProcessingOutcome> {
    const decoded = decodeMessage(message.content, this.contracts);
    if (!decoded.ok) return this.park(message, generation, attempt, decoded.reason, decoded.error);
    const { envelope } = decoded;
    const deliveries = earlierDeliveries(message);
    if (deliveries >= this.deliveryLimit) return this.parkOverLimit(message, generation, attempt, envelope, `${deliveries} deliveries`);
    const publisher = verifiedPublisher(message, this.options.queue);
    const trusted = this.options.trustedPublisher(decoded.contract.routingKey);
    if (publisher === undefined || publisher !== trusted) {
      const from = publisher === undefined ? 'a sender the broker did not verify' : `broker user "${publisher}"`;
      return this.park(
        message,
        generation,
        attempt,
        'untrusted-publisher',
        `${decoded.contract.routingKey} is accepted only from "${trusted}"; this one came from ${from}`,
      );
    }
    const handler = this.handlers.get(decoded.contract.routingKey)!;

    // A child logger per message costs more than the rest of the bookkeeping; only the rare lines need it.
    let child: Logger | undefined;
    const log = () => (child ??= this.options.logger.child({ messageId: envelope.id, type: envelope.type, subject: envelope.subject, attempt }));
    const debug = this.options.logger.isLevelEnabled('debug');
    try {
      await this.handle(envelope, attempt, mayBeDuplicate(message, attempt), (context) => handler.handle(envelope, context));
      this.ack(message, generation);
      if (debug) log().debug('message processed');
      return 'processed';
    } catch (err) {
      if (err instanceof AlreadyProcessed) {
        this.ack(message, generation);
        if (debug) log().debug('duplicate message ignored');
        return 'duplicate';
      }
      // Before every other branch: an outage is no failure of this message's, so it costs no attempt, is never
      // parked and does not reach onRetriesExhausted; the message waits on the queue for the database instead.
      if (isDatabaseUnreachable(err)) return this.returnForOutage(message, generation, err as Error);
      if (err instanceof PermanentMessageError) {
        log().warn({ err }, 'message failed permanently');
        return this.park(message, generation, attempt, 'permanent-failure', err.message);
      }
      if (attempt > this.retryDelaysMs.length && handler.onRetriesExhausted) {
        return this.settleExhausted(message, generation, handler, envelope, attempt, err as Error, log);
      }
      return this.retryOrPark(message, generation, attempt, err as Error, log);
    }
  }

  private async settleExhausted(
    message: ConsumeMessage,
    generation: number,
    handler: MessageHandler,
    envelope: CloudEvent,
    attempt: number,
    error: Error,
    log: () => Logger,
  ): Promise<ProcessingOutcome> {
    log().warn({ err: error }, 'retries exhausted; handing the failure to the saga');
    try {
      await this.handle(envelope, attempt, true, (context) => handler.onRetriesExhausted!(envelope, context, error));
      this.ack(message, generation);
      return 'handed-to-saga';
    } catch (err) {
      if (err instanceof AlreadyProcessed) {
        this.ack(message, generation);
        return 'duplicate';
      }
      if (isDatabaseUnreachable(err)) return this.returnForOutage(message, generation, err as Error);
      return this.park(message, generation, attempt, 'retries-exhausted', `${error.message}; then ${(err as Error).message}`);
    }
  }

  /**
   * Delivered `deliveryLimit` times without being settled: each time, the process died or lost its connection
   * with it in flight. No handler runs again; unless the inbox shows it was processed (its effect committed, only
   * the ack lost), it is parked. Either way it is settled, and the consumer goes on with the next message.
   */
  private async parkOverLimit(
    message: ConsumeMessage,
    generation: number,
    attempt: number,
    envelope: CloudEvent,
    what: string,
  ): Promise<ProcessingOutcome> {
    try {
      const seen = (await this.options.orm.em
        .fork()
        .getConnection()
        .execute(`select 1 from "${this.options.schema}"."inbox" where consumer = ? and message_id = ?`, [
          this.options.queue,
          envelope.id,
        ])) as unknown[];
      if (seen.length > 0) {
        this.ack(message, generation);
        return 'duplicate';
      }
    } catch (err) {
      if (isDatabaseUnreachable(err)) return this.returnForOutage(message, generation, err as Error);
      throw err;
    }
    return this.park(
      message,
      generation,
      attempt,
      'delivery-limit',
      `not settled after ${what}: its consumer crashed or lost its connection each time it had the message`,
    );
  }

  /**
   * Runs the handler. The inbox insert inside `commit` is what guarantees one effect per message; the lookup
   * before the handler only spares a duplicate the handler's work outside the transaction (a directory call,
   * an SMTP send), so it is made for the deliveries likely to be duplicates — redelivered or retried — and
   * not for the first delivery of every message, where it would be one more round trip that finds nothing.
   */
  private async handle(
    envelope: CloudEvent,
    attempt: number,
    lookUpInboxFirst: boolean,
    run: (context: MessageContext) => Promise<void>,
  ): Promise<void> {
    const em = this.options.orm.em.fork();
    const inbox = `"${this.options.schema}"."inbox"`;
    if (lookUpInboxFirst) {
      // MikroORM core's Connection leaves execute()'s result untyped; with its default method 'all' it resolves to the rows.
      const seen = (await em
        .getConnection()
        .execute(`select 1 from ${inbox} where consumer = ? and message_id = ?`, [this.options.queue, envelope.id])) as unknown[];
      if (seen.length > 0) throw new AlreadyProcessed();
    }
    let committed = false;
    const context: MessageContext = {
      em,
      envelope,
      attempt,
      commit: async (work) => {
        // begin/commit on the message's own fork rather than em.transactional(), which would fork it again and
        // run the work in an async context of its own: the fork is already private to this message.
        await em.begin();
        try {
          const recorded = (await em
            .getConnection()
            .execute(
              `insert into ${inbox} (consumer, message_id) values (?, ?) on conflict do nothing returning message_id`,
              [this.options.queue, envelope.id],
              'all',
              em.getTransactionContext(),
            )) as unknown[];
          if (recorded.length === 0) throw new AlreadyProcessed();
          await work(em);
          await em.commit(); // flushes first
        } catch (err) {
          // A failed COMMIT has already ended the transaction; the error that matters is the one thrown.
          if (em.isInTransaction()) await em.rollback().catch(() => undefined);
          throw err;
        }
        committed = true;
      },
      commitInOneStatement: async (commit) => {
        if (committed) throw new Error('a message is committed once');
        const statement = buildStatementCommit(this.options.schema, commit, { consumer: this.options.queue, messageId: envelope.id });
        let rows: StatementOutboxRow[];
        try {
          rows = await executeStatementCommit(em, statement);
        } catch (err) {
          if (isInboxConflict(err, this.options.schema)) throw new AlreadyProcessed();
          throw err;
        }
        committed = true;
        if (rows.length > 0 && this.options.onOutboxCommitted) {
          // Committed whatever the hook does: a failure of it must not turn the message into a retry.
          try {
            this.options.onOutboxCommitted(rows);
          } catch (err) {
            this.options.logger.warn({ err: (err as Error).message }, 'onOutboxCommitted failed; the relay publishes the rows');
          }
        }
        return rows;
      },
      schema: this.options.schema,
      causedBy: (subject) => ({
        source: this.options.service,
        subject,
        correlationId: envelope.correlationid,
        causationId: envelope.id,
      }),
    };
    await run(context);
    // A handler that decided there is nothing to do still records the message: the inbox row alone, one round trip.
    if (!committed) await context.commitInOneStatement({});
  }

  /** The database could not be reached while handling `message`: it goes back, and the consumer pauses. */
  private async returnForOutage(message: ConsumeMessage, generation: number, err: Error): Promise<ProcessingOutcome> {
    this.pauseUntilDatabaseAnswers(err);
    await this.returnToQueue(message, generation);
    return 'returned';
  }

  /**
   * Puts a message back at the end of the work queue, through the service's redirect exchange, with its headers
   * (so its attempt count) unchanged, then acknowledges the delivery. Not a nack with requeue: a quorum queue counts
   * those deliveries, and where a delivery limit applies (RabbitMQ 4's default) it would drop the message after
   * enough outages. As when retrying, the copy carries the publisher verified on first receipt.
   */
  private async returnToQueue(message: ConsumeMessage, generation: number): Promise<void> {
    await this.options.broker.publish(redirectExchangeName(this.options.queue), this.options.queue, message.content, {
      ...this.preservedProperties(message).publish,
      headers: {
        ...copiedHeaders(message),
        [VERIFIED_PUBLISHER_HEADER]: verifiedPublisher(message, this.options.queue),
        [RETURNED_HEADER]: true,
        'x-original-routing-key': originalRoutingKey(message),
        // This delivery ends settled (returned): only the earlier, unsettled ones carry over to the copy.
        [EARLIER_DELIVERIES_HEADER]: earlierDeliveries(message),
        [FIRST_RECEIVED_HEADER]: firstReceived(message),
      },
    });
    this.ack(message, generation);
  }

  /**
   * Stops taking deliveries (cancels the consumer; those already sent come back through `returnToQueue`) and
   * probes the database with a cheap query, backing off to `databaseProbeMaxMs`, until it answers; then consumes
   * again. Nothing is parked or retried meanwhile, however long the outage lasts: the messages wait on the queue.
   */
  private pauseUntilDatabaseAnswers(err: Error): void {
    if (this.paused || !this.accepting) return;
    this.paused = true;
    const pausedAt = Date.now();
    this.options.logger.warn({ err: err.message }, 'database unreachable; consumer paused until it answers');
    void this.cancel();
    void (async () => {
      const maxDelayMs = this.options.databaseProbeMaxMs ?? 1_000;
      // Runs as long as the outage does, which nothing bounds; stop() ends it at once.
      for (let delayMs = 50; this.accepting; delayMs = Math.min(maxDelayMs, delayMs * 2)) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wakeProbe = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeProbe = undefined;
        if (!this.accepting) return;
        if (await this.options.orm.isConnected().catch(() => false)) break;
      }
      if (!this.accepting) return;
      this.paused = false;
      if (!this.isolating) await this.consume();
      this.options.logger.info({ pausedMs: Date.now() - pausedAt }, 'database reachable again; consumer resumed');
    })().catch((resumeErr: Error) => this.options.logger.error({ err: resumeErr.message }, 'consumer failed to resume'));
  }

  private ack(message: ConsumeMessage, generation: number): void {
    if (generation !== this.channelGeneration) return; // the old channel is gone; the broker redelivers
    this.channel?.ack(message);
  }

  private async retryOrPark(message: ConsumeMessage, generation: number, attempt: number, err: Error, log: () => Logger): Promise<ProcessingOutcome> {
    if (attempt > this.retryDelaysMs.length) {
      log().warn({ err }, 'retries exhausted');
      return this.park(message, generation, attempt, 'retries-exhausted', err.message);
    }
    const wantedMs = err instanceof TransientMessageError ? (err.retryAfterMs ?? 0) : 0;
    let level = attempt;
    while (level < this.retryDelaysMs.length && (this.retryDelaysMs[level - 1] ?? 0) < wantedMs) level += 1;
    const delayMs = this.retryDelaysMs[level - 1] ?? 0;
    // Full jitter within the upper half of the delay; the delay queue's own TTL caps it.
    const expiration = Math.max(1, Math.round(delayMs * (0.5 + Math.random() * 0.5)));
    log().warn({ err, retryInMs: expiration }, 'message failed; retrying later');
    const retryQueue = retryQueueName(this.options.queue, delayMs);
    await this.options.broker.publish(redirectExchangeName(this.options.queue), retryQueue, message.content, {
      ...this.preservedProperties(message).publish,
      expiration: String(expiration),
      headers: {
        ...copiedHeaders(message),
        [VERIFIED_PUBLISHER_HEADER]: verifiedPublisher(message, this.options.queue),
        'x-attempt': attempt,
        'x-last-error': brokerSafe(err.message),
        'x-original-routing-key': originalRoutingKey(message),
        [EARLIER_DELIVERIES_HEADER]: earlierDeliveries(message),
        [FIRST_RECEIVED_HEADER]: firstReceived(message),
      },
    });
    this.ack(message, generation);
    return 'retried';
  }

  /**
   * Records the message in the service's `parked_message` table (scrubbed for listing, its personal data apart for a
   * replay) and only then acknowledges it, so nothing is lost; a second park of the same message is a no-op. While
   * the database cannot be reached the message is returned to the queue as in any outage, costing it nothing.
   */
  private async park(message: ConsumeMessage, generation: number, attempt: number, reason: ParkReason, error: string): Promise<ProcessingOutcome> {
    const safeError = brokerSafe(error);
    const { payload, personal } = splitPersonalData(message.content);
    let subject: string | undefined;
    let envelopeId: string | undefined;
    try {
      const body = JSON.parse(message.content.toString('utf8')) as { subject?: unknown; id?: unknown };
      if (typeof body.subject === 'string') subject = body.subject.slice(0, 255);
      if (typeof body.id === 'string') envelopeId = body.id;
    } catch {
      // not JSON: no subject, named by its content
    }
    const preserved = this.preservedProperties(message);
    const messageId = String(preserved.record.messageId ?? envelopeId ?? contentMessageId(message.content)).slice(0, 255);
    const firstReceivedAt = Date.parse(firstReceived(message));
    const record: ParkedRecord = {
      sourceQueue: this.options.queue,
      messageId,
      type: preserved.publish.type,
      routingKey: originalRoutingKey(message),
      subject,
      reason,
      error: safeError,
      attempts: attempt,
      deliveryCount: earlierDeliveries(message) + 1,
      verifiedPublisher: verifiedPublisher(message, this.options.queue),
      properties: preserved.record,
      headers: replayHeaders(message.properties.headers),
      payload,
      personalData: personal,
      firstReceivedAt: Number.isFinite(firstReceivedAt) ? new Date(firstReceivedAt) : undefined,
      parkedBy: this.options.service,
    };
    try {
      await insertParked(this.options.orm.em.fork(), this.options.schema, record);
    } catch (err) {
      if (isDatabaseUnreachable(err)) return this.returnForOutage(message, generation, err as Error);
      throw err;
    }
    this.options.logger.warn({ reason, error: safeError, messageId }, 'message parked');
    this.ack(message, generation);
    this.options.observer?.parked?.(this.options.queue, reason);
    return 'parked';
  }

  /** The AMQP properties a copy of the message keeps: for publishing, and as kept in a parked row. */
  private preservedProperties(message: Pick<ConsumeMessage, 'properties'>) {
    const { messageId, type, correlationId, timestamp, contentType } = message.properties as {
      messageId?: string;
      type?: string;
      correlationId?: string;
      timestamp?: number;
      contentType?: string;
    };
    const record: Record<string, string | number> = {};
    for (const [key, value] of Object.entries({ messageId, type, correlationId, timestamp, contentType })) {
      if (typeof value === 'string' || typeof value === 'number') record[key] = value;
    }
    return { publish: { messageId, type, correlationId, timestamp, contentType, persistent: true }, record };
  }
}

export type DecodedMessage =
  | { ok: true; contract: EventContract; envelope: CloudEvent }
  | { ok: false; reason: Extract<ParkReason, 'unparseable' | 'invalid-envelope' | 'no-handler' | 'schema-validation'>; error: string };

/**
 * What a consumer does with a message body before any handler runs: parse it, check the CloudEvents
 * envelope, find the contract for its type and major version, and validate the data against it. Consumers
 * run it on every delivery; their Pact tests run it on the messages they say they need.
 */
export function decodeMessage(content: Buffer | string, contracts: readonly EventContract[]): DecodedMessage {
  let body: unknown;
  try {
    body = JSON.parse(typeof content === 'string' ? content : content.toString('utf8'));
  } catch {
    // Not JSON.parse's message: V8 quotes the start of the body in it, and the body is a driver's data.
    return { ok: false, reason: 'unparseable', error: 'the body is not valid JSON' };
  }
  const envelopeCheck = validate(CloudEvent, body);
  if (!envelopeCheck.ok) return { ok: false, reason: 'invalid-envelope', error: describe(envelopeCheck.issues) };
  const envelope = envelopeCheck.value as CloudEvent;
  const routingKey = `${envelope.type}.v${envelope.dataversion}`;
  const contract = contracts.find((candidate) => candidate.routingKey === routingKey);
  if (!contract) return { ok: false, reason: 'no-handler', error: `no handler for ${envelope.type} v${envelope.dataversion}` };
  const dataCheck = validate(contract.schema, envelope.data);
  if (!dataCheck.ok) return { ok: false, reason: 'schema-validation', error: describe(dataCheck.issues) };
  return { ok: true, contract, envelope };
}

/** Redelivered by the broker (its ack was lost), back from a retry queue or from an outage: it may have been processed. */
function mayBeDuplicate(message: ConsumeMessage, attempt: number): boolean {
  return message.fields.redelivered || attempt > 1 || message.properties.headers?.[RETURNED_HEADER] === true;
}

/**
 * Who sent a message, as far as the broker vouches for it:
 * - through the domain exchange, the AMQP `user-id`, which RabbitMQ refuses to pass on unless it is the
 *   publishing connection's own user (no service holds the `impersonator` tag);
 * - back from a delay queue (dead-lettered through the service's own redirect exchange, which only the
 *   service may write to) or replayed by an administrator (through the default exchange, which no service may
 *   write to), the publisher this consumer verified on first receipt, in the header it set when it retried
 *   or parked the message;
 * - through any other exchange, nobody.
 */
function verifiedPublisher(message: ConsumeMessage, queue: string): string | undefined {
  const { exchange } = message.fields;
  const viaOwnPath = exchange === '' || exchange === redirectExchangeName(queue);
  const claimed: unknown =
    exchange === DOMAIN_EXCHANGE ? message.properties.userId : viaOwnPath ? message.properties.headers?.[VERIFIED_PUBLISHER_HEADER] : undefined;
  return typeof claimed === 'string' && claimed.length > 0 ? claimed : undefined;
}

/**
 * How many times the message was delivered before this delivery without being settled: the quorum queue's
 * `x-delivery-count` (RabbitMQ 3.10+ counts returns: a consumer that died, a connection cut) plus what earlier
 * copies of it had counted (see EARLIER_DELIVERIES_HEADER).
 */
function earlierDeliveries(message: ConsumeMessage): number {
  const headers = message.properties.headers ?? {};
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0);
  return count(headers['x-delivery-count']) + count(headers[EARLIER_DELIVERIES_HEADER]);
}

/**
 * The headers a copy of the message published by the consumer (a retry, a return) starts from: the broker's
 * `x-delivery-count` is left out, since on the copy it would be a stale number the broker does not maintain, and the
 * count it stood for travels in EARLIER_DELIVERIES_HEADER instead.
 */
function copiedHeaders(message: ConsumeMessage): Record<string, unknown> {
  const { 'x-delivery-count': _counted, ...headers } = message.properties.headers ?? {};
  return headers;
}

function firstReceived(message: ConsumeMessage): string {
  const recorded: unknown = message.properties.headers?.[FIRST_RECEIVED_HEADER];
  return typeof recorded === 'string' ? recorded : new Date().toISOString();
}

function originalRoutingKey(message: ConsumeMessage): string {
  const recorded: unknown = message.properties.headers?.['x-original-routing-key'];
  return typeof recorded === 'string' ? recorded : message.fields.routingKey;
}

function describe(issues: ValidationIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
}

/**
 * An error message as it may be stored with a message on the broker (and shown by `npm run parked`): addresses
 * and phone numbers masked, then truncated. Handlers' messages name ids, never event data (names included).
 */
function brokerSafe(error: string): string {
  return truncate(scrubPersonalData(error));
}

function truncate(text: string, max = 1000): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
