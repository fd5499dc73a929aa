import { connect, type Channel, type ChannelModel } from 'amqplib';
import { CONSUMING_SERVICES, UNROUTABLE_QUEUE, type QueueOverview } from '@onboarding/contracts';
import { parkingQueueName } from '@onboarding/messaging';

/** The queues the overview shows: each consuming service's work queue and parking lot, and the unroutable queue. */
export function watchedQueues(): Omit<QueueOverview, 'messages' | 'consumers'>[] {
  return [
    ...CONSUMING_SERVICES.flatMap((entry) => [
      { queue: entry.queue, service: entry.name, kind: 'work' as const },
      { queue: parkingQueueName(entry.queue), service: entry.name, kind: 'parked' as const },
    ]),
    { queue: UNROUTABLE_QUEUE, service: null, kind: 'unroutable' as const },
  ];
}

/**
 * Queue depths through passive declares (`queue.declare` with passive set, amqplib's `checkQueue`) on a short
 * connection as operations' own broker user. RabbitMQ answers a passive declare with the message and consumer
 * counts without any permission on the queue, so operations needs no rights beyond its own; the management
 * plugin, which may not be enabled, is not needed either. A missing queue closes the channel (404), so each
 * check has its own channel. Everything is bounded by `timeoutMs`; what could not be read is null.
 */
export async function queueDepths(amqpUrl: string, timeoutMs: number): Promise<QueueOverview[]> {
  const queues = watchedQueues();
  const unknown = queues.map((queue) => ({ ...queue, messages: null, consumers: null }));
  let connection: ChannelModel | undefined;
  const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
  try {
    const opened = await Promise.race([connect(amqpUrl, { timeout: timeoutMs }), deadline]);
    if (opened === 'timeout') return unknown;
    connection = opened;
    connection.on('error', () => undefined); // a failed check closes its channel, not the connection; nothing to do here
    const model = connection;
    const checked = await Promise.race([Promise.all(queues.map(async (queue) => ({ ...queue, ...(await depth(model, queue.queue)) }))), deadline]);
    return checked === 'timeout' ? unknown : checked;
  } catch {
    return unknown;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function depth(connection: ChannelModel, queue: string): Promise<{ messages: number | null; consumers: number | null }> {
  let channel: Channel | undefined;
  try {
    channel = await connection.createChannel();
    channel.on('error', () => undefined);
    const { messageCount, consumerCount } = await channel.checkQueue(queue);
    return { messages: messageCount, consumers: consumerCount };
  } catch {
    return { messages: null, consumers: null };
  } finally {
    await channel?.close().catch(() => undefined);
  }
}
