import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { CloudEvent, validate, type EnvelopeOptions, type EventContract, type EventData, type ValidationIssue } from '@onboarding/contracts';
import type { Broker } from './broker';
import { withProcessSpan, type MessagingObserver, type ProcessingOutcome } from './observability';
import { isDatabaseUnreachable, scrubPersonalData } from '@onboarding/service-kit';
import { PermanentMessageError, TransientMessageError } from './errors';
import {
  DEFAULT_RETRY_DELAYS_MS,
  DOMAIN_EXCHANGE,
  declareConsumerTopology,
  parkingQueueName,
  redirectExchangeName,
  retryQueueName,
} from './topology';

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
}

export type ParkReason =
  'unparseable' | 'invalid-envelope' | 'no-handler' | 'schema-validation' | 'untrusted-publisher' | 'permanent-failure' | 'retries-exhausted';

/** Where a consumer keeps, on a message it retries or parks, the publisher it verified on first receipt. */
export const VERIFIED_PUBLISHER_HEADER = 'x-verified-publisher';

/** Set on a message a consumer put back on its queue during a database outage: it may have been processed. */
const RETURNED_HEADER = 'x-returned-in-outage';

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
  private wakeProbe?: () => void;

  private readonly contracts: EventContract[];

  constructor(private readonly options: MessageConsumerOptions) {
    for (const handler of options.handlers) this.handlers.set(handler.contract.routingKey, handler);
    this.contracts = options.handlers.map((handler) => handler.contract);
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
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
    await this.consume();
  }

  /** Registers the consumer; amqp-connection-manager re-registers it after every reconnect until it is cancelled. */
  private async consume(): Promise<void> {
    await this.channel?.consume(
      this.options.queue,
      (message) => {
        if (!this.accepting) return;
        const generation = this.channelGeneration;
        // Sent before the cancel took effect: it would only fail on the database, so it goes straight back.
        const settled = this.paused ? this.returnToQueue(message, generation) : this.process(message, generation);
        const work = settled.catch((err: Error) => this.options.logger.error({ err: err.message }, 'consumer failed to settle a message'));
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      },
      { prefetch: this.options.prefetch ?? 16 },
    );
  }

  /** Stops taking messages, lets the in-flight ones finish (bounded), then closes the channel. */
  async stop(): Promise<void> {
    this.accepting = false;
    this.wakeProbe?.();
    if (!this.channel) return;
    await this.channel.cancelAll().catch(() => undefined);
    const drained = Promise.allSettled([...this.inFlight]);
    const timeout = new Promise((resolve) => setTimeout(resolve, this.options.drainTimeoutMs ?? 10_000).unref());
    await Promise.race([drained, timeout]);
    await this.channel.close().catch(() => undefined);
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
    if (!decoded.ok) {
      await this.park(message, generation, attempt, decoded.reason, decoded.error);
      return 'parked';
    }
    const { envelope } = decoded;
    const publisher = verifiedPublisher(message, this.options.queue);
    const trusted = this.options.trustedPublisher(decoded.contract.routingKey);
    if (publisher === undefined || publisher !== trusted) {
      const from = publisher === undefined ? 'a sender the broker did not verify' : `broker user "${publisher}"`;
      await this.park(
        message,
        generation,
        attempt,
        'untrusted-publisher',
        `${decoded.contract.routingKey} is accepted only from "${trusted}"; this one came from ${from}`,
      );
      return 'parked';
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
        await this.park(message, generation, attempt, 'permanent-failure', err.message);
        return 'parked';
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
      await this.park(message, generation, attempt, 'retries-exhausted', `${error.message}; then ${(err as Error).message}`);
      return 'parked';
    }
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
      causedBy: (subject) => ({
        source: this.options.service,
        subject,
        correlationId: envelope.correlationid,
        causationId: envelope.id,
      }),
    };
    await run(context);
    if (!committed) await context.commit(async () => undefined);
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
      ...this.preservedProperties(message),
      headers: {
        ...message.properties.headers,
        [VERIFIED_PUBLISHER_HEADER]: verifiedPublisher(message, this.options.queue),
        [RETURNED_HEADER]: true,
        'x-original-routing-key': originalRoutingKey(message),
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
    void this.channel?.cancelAll().catch((cancelErr: Error) => this.options.logger.warn({ err: cancelErr.message }, 'consumer cancel failed'));
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
      await this.consume();
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
      await this.park(message, generation, attempt, 'retries-exhausted', err.message);
      return 'parked';
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
      ...this.preservedProperties(message),
      expiration: String(expiration),
      headers: {
        ...message.properties.headers,
        [VERIFIED_PUBLISHER_HEADER]: verifiedPublisher(message, this.options.queue),
        'x-attempt': attempt,
        'x-last-error': brokerSafe(err.message),
        'x-original-routing-key': originalRoutingKey(message),
      },
    });
    this.ack(message, generation);
    return 'retried';
  }

  private async park(message: ConsumeMessage, generation: number, attempt: number, reason: ParkReason, error: string): Promise<void> {
    const safeError = brokerSafe(error);
    this.options.logger.warn({ reason, error: safeError, messageId: message.properties.messageId }, 'message parked');
    const parkingQueue = parkingQueueName(this.options.queue);
    await this.options.broker.publish(redirectExchangeName(this.options.queue), parkingQueue, message.content, {
      ...this.preservedProperties(message),
      headers: {
        ...message.properties.headers,
        [VERIFIED_PUBLISHER_HEADER]: verifiedPublisher(message, this.options.queue),
        'x-parked-reason': reason,
        'x-error': safeError,
        'x-attempts': attempt,
        'x-original-queue': this.options.queue,
        'x-original-routing-key': originalRoutingKey(message),
        'x-parked-at': new Date().toISOString(),
        'x-parked-by': this.options.service,
      },
    });
    this.ack(message, generation);
    this.options.observer?.parked?.(this.options.queue, reason);
  }

  private preservedProperties(message: ConsumeMessage) {
    const { messageId, type, correlationId, timestamp, contentType } = message.properties as {
      messageId?: string;
      type?: string;
      correlationId?: string;
      timestamp?: number;
      contentType?: string;
    };
    return { messageId, type, correlationId, timestamp, contentType, persistent: true };
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
