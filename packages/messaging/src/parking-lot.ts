import amqplib, { type ConfirmChannel, type GetMessage, type Options } from 'amqplib';
import { CONSUMING_SERVICES, eventFlow } from '@onboarding/contracts';
import { VERIFIED_PUBLISHER_HEADER } from './consumer';
import { UNROUTABLE_QUEUE, parkingQueueName, retryQueueName } from './topology';

export interface ParkedMessage {
  queue: string;
  messageId: string | undefined;
  type: string | undefined;
  reason: string;
  error: string;
  attempts: number;
  originalQueue: string | undefined;
  routingKey: string;
  parkedAt: string | undefined;
}

export interface ParkingLotOptions {
  amqpUrl: string;
  queues: string[];
  /** Only messages with this id. */
  messageId?: string;
  /** Only messages parked for this reason. */
  reason?: string;
  /** At most this many messages per queue are looked at (they are held unacknowledged meanwhile). */
  limit?: number;
}

const PARKING_HEADERS = ['x-parked-reason', 'x-error', 'x-attempts', 'x-parked-at', 'x-parked-by', 'x-attempt', 'x-last-error'];

function describe(queue: string, message: GetMessage): ParkedMessage {
  const headers = message.properties.headers ?? {};
  return {
    queue,
    messageId: message.properties.messageId as string | undefined,
    type: message.properties.type as string | undefined,
    reason: String(headers['x-parked-reason'] ?? (queue === UNROUTABLE_QUEUE ? 'unroutable' : 'unknown')),
    error: String(headers['x-error'] ?? ''),
    attempts: Number(headers['x-attempts'] ?? 0),
    originalQueue: headers['x-original-queue'] as string | undefined,
    routingKey: String(headers['x-original-routing-key'] ?? message.fields.routingKey),
    parkedAt: headers['x-parked-at'] as string | undefined,
  };
}

/**
 * Reads parking lots without losing anything: every message is fetched unacknowledged, then either replayed
 * (republished with confirms, then acknowledged) or handed back to its queue untouched.
 */
async function visit(
  options: ParkingLotOptions,
  decide: (parked: ParkedMessage, message: GetMessage, channel: ConfirmChannel, connection: amqplib.ChannelModel) => Promise<boolean>,
): Promise<ParkedMessage[]> {
  const connection = await amqplib.connect(options.amqpUrl, { noDelay: true });
  const visited: ParkedMessage[] = [];
  try {
    for (const queue of options.queues) {
      // A channel per queue: checking a queue that does not exist (a service that never ran) closes it.
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => undefined);
      const held: GetMessage[] = [];
      let depthBefore: number;
      try {
        depthBefore = (await channel.checkQueue(queue)).messageCount;
      } catch {
        continue;
      }
      let consumedCount = 0;
      for (let i = 0; i < (options.limit ?? 1000); i += 1) {
        const message = await channel.get(queue, { noAck: false });
        if (!message) break;
        held.push(message);
      }
      for (const message of held) {
        const parked = describe(queue, message);
        // A filter that was given is applied even when empty: `--id ''` must match nothing rather than everything.
        const selected =
          (options.messageId === undefined || parked.messageId === options.messageId) &&
          (options.reason === undefined || parked.reason === options.reason);
        if (selected) visited.push(parked);
        const consumed = selected && (await decide(parked, message, channel, connection));
        if (consumed) {
          channel.ack(message);
          consumedCount += 1;
        } else channel.nack(message, false, true);
      }
      await channel.close();
      await untilRequeued(connection, queue, depthBefore - consumedCount);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
  return visited;
}

/**
 * A quorum queue applies returned (nacked) messages asynchronously: for a moment after the channel closed,
 * its depth can read lower than before the visit. Waiting (bounded) until every message handed back is
 * counted again means a listing is over only when the lot looks as it did, so a replay or a depth check right
 * after it sees every message.
 */
async function untilRequeued(connection: amqplib.ChannelModel, queue: string, expected: number, timeoutMs = 5_000): Promise<void> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    const deadline = Date.now() + timeoutMs;
    while ((await channel.checkQueue(queue)).messageCount < expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await channel.close().catch(() => undefined);
  }
}

export function listParked(options: ParkingLotOptions): Promise<ParkedMessage[]> {
  return visit(options, async () => false);
}

/**
 * Puts parked messages back on the queue they came from with a fresh attempt count (unroutable events back
 * on the exchange), for after the cause was fixed. Each is acknowledged only once the broker confirmed the
 * copy, so a crash mid-replay duplicates at worst (consumers dedupe) and never loses.
 */
export function replayParked(options: ParkingLotOptions & { dryRun?: boolean }): Promise<ParkedMessage[]> {
  return visit(options, async (parked, message, channel, connection) => {
    if (options.dryRun) return false;
    const headers = Object.fromEntries(Object.entries(message.properties.headers ?? {}).filter(([key]) => !PARKING_HEADERS.includes(key)));
    headers['x-replayed-at'] = new Date().toISOString();
    headers['x-replays'] = Number(message.properties.headers?.['x-replays'] ?? 0) + 1;
    // The replaying operator is not the publisher: RabbitMQ refuses a `user-id` other than the connection's
    // own. Who published it travels in the header the consumer verified it with (see the consumer).
    const { userId, ...kept } = message.properties as Options.Publish & { userId?: string };
    if (parked.queue === UNROUTABLE_QUEUE || !parked.originalQueue) {
      // An unroutable event never reached a consumer, so nobody recorded its publisher yet: the `user-id` the
      // broker verified when it was published is that record. It goes straight to the queues that consume it
      // now; through the exchange, the operator's connection could not vouch for the publisher.
      const queues = await consumingQueues(connection, parked.routingKey);
      if (queues.length === 0) return false;
      for (const queue of queues) {
        await send(channel, queue, message.content, {
          ...kept,
          headers: { ...headers, [VERIFIED_PUBLISHER_HEADER]: userId, 'x-original-routing-key': parked.routingKey },
          persistent: true,
        });
      }
      return true;
    }
    await send(channel, parked.originalQueue, message.content, { ...kept, headers, persistent: true });
    return true;
  });
}

/**
 * The queues where a consumer's messages wait outside its work queue: one delay queue per retry delay and the
 * parking lot. Erasure looks through these (the work queue is being consumed and cannot be read aside).
 */
export function waitingQueues(queue: string, retryDelaysMs: readonly number[]): string[] {
  return [...new Set(retryDelaysMs)].map((delayMs) => retryQueueName(queue, delayMs)).concat(parkingQueueName(queue));
}

/** Where a service's messages wait outside its work queue, for erasure: the broker and the queue names. */
export interface WaitingMessages {
  amqpUrl: string;
  queues: string[];
}

export interface RemoveNamingOptions extends WaitingMessages {
  /** Removed: every message whose body or headers contain this text (case-insensitive), e.g. a driver id. */
  naming: string;
  /**
   * Message types (the AMQP `type`, the CloudEvents type) handed back even when they name it: the erasure's own
   * events, which carry ids only and must still reach the service that is waiting for them.
   */
  sparingTypes?: readonly string[];
  /** At most this many messages per queue are looked at (default 10,000; held unacknowledged meanwhile). */
  limit?: number;
}

/**
 * Erasure: removes from the given queues every message that names `naming` anywhere in its body or headers (a
 * driver id is in the CloudEvents `subject`, in `data.driverId`, and in whatever a broken body or an error text
 * quotes). Everything else is handed back untouched, as a listing does, so nothing else is lost; a handed-back
 * message is requeued in its place, as RabbitMQ requeues. Removing nothing is fine, so a second run is harmless.
 * Returns how many messages were removed.
 */
export async function removeMessagesNaming(options: RemoveNamingOptions): Promise<number> {
  const needle = options.naming.toLowerCase();
  let removed = 0;
  await visit({ amqpUrl: options.amqpUrl, queues: options.queues, limit: options.limit ?? 10_000 }, async (_parked, message) => {
    if (options.sparingTypes?.includes(String(message.properties.type))) return false;
    const text = `${message.content.toString('utf8')}\n${JSON.stringify(message.properties.headers ?? {})}`.toLowerCase();
    if (!text.includes(needle)) return false;
    removed += 1;
    return true;
  });
  return removed;
}

function send(channel: ConfirmChannel, queue: string, content: Buffer, properties: Options.Publish): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    channel.sendToQueue(queue, content, properties, (err) => (err ? reject(err) : resolve()));
  });
}

/** The work queues that exist and whose service consumes the routing key (contracts' event flow). */
async function consumingQueues(connection: amqplib.ChannelModel, routingKey: string): Promise<string[]> {
  const consumers = eventFlow[routingKey]?.consumers ?? [];
  const queues: string[] = [];
  for (const entry of CONSUMING_SERVICES.filter((candidate) => consumers.includes(candidate.name))) {
    // Checked on a channel of its own: checking a queue that does not exist closes the channel.
    const probe = await connection.createChannel();
    probe.on('error', () => undefined);
    const exists = await probe.checkQueue(entry.queue).then(
      () => true,
      () => false,
    );
    await probe.close().catch(() => undefined);
    if (exists) queues.push(entry.queue);
  }
  return queues;
}
