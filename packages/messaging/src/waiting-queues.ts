import amqplib, { type GetMessage } from 'amqplib';
import { retryQueueName } from './topology';

interface VisitOptions {
  amqpUrl: string;
  queues: string[];
  /** At most this many messages per queue are looked at (they are held unacknowledged meanwhile). */
  limit?: number;
}

/**
 * Reads queues aside without losing anything (erasure's clean-up of the retry queues): every message is fetched
 * unacknowledged, then either removed (acknowledged) or handed back to its queue untouched.
 */
async function visit(options: VisitOptions, decide: (message: GetMessage) => Promise<boolean>): Promise<void> {
  const connection = await amqplib.connect(options.amqpUrl, { noDelay: true });
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
        const consumed = await decide(message);
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

/**
 * The queues where a consumer's messages wait outside its work queue: one delay queue per retry delay. Erasure
 * looks through these (the work queue is being consumed and cannot be read aside; parked messages are in the
 * service's table, see forgetParkedPersonalData).
 */
export function waitingQueues(queue: string, retryDelaysMs: readonly number[]): string[] {
  return [...new Set(retryDelaysMs)].map((delayMs) => retryQueueName(queue, delayMs));
}

/** Where a service's messages wait outside its work queue, for erasure: the broker and the queue names, and the schema of its parked-message table. */
export interface WaitingMessages {
  amqpUrl: string;
  queues: string[];
  schema: string;
}

export interface RemoveNamingOptions extends Omit<WaitingMessages, 'schema'> {
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
  await visit({ amqpUrl: options.amqpUrl, queues: options.queues, limit: options.limit ?? 10_000 }, async (message) => {
    if (options.sparingTypes?.includes(String(message.properties.type))) return false;
    const text = `${message.content.toString('utf8')}\n${JSON.stringify(message.properties.headers ?? {})}`.toLowerCase();
    if (!text.includes(needle)) return false;
    removed += 1;
    return true;
  });
  return removed;
}
