import type { ConfirmChannel } from 'amqplib';
import { DOMAIN_EXCHANGE, UNROUTABLE_EXCHANGE, UNROUTABLE_QUEUE } from '@onboarding/contracts';

export { DOMAIN_EXCHANGE, UNROUTABLE_EXCHANGE, UNROUTABLE_QUEUE };
/** Content type of every published event: a CloudEvents structured-mode JSON envelope. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

export interface ConsumerTopology {
  /** Work queue, e.g. `identity.events`. */
  queue: string;
  /** Routing keys (`<type>.v<major>`) bound to the work queue. */
  routingKeys: readonly string[];
  /**
   * Routing keys an earlier version of the service bound and this one no longer handles. Bindings outlive the
   * code that declared them, so without an unbind a broker that ran the old version keeps routing those events
   * here, where they would be parked as `no-handler`. Unbinding a binding that does not exist is a no-op.
   */
  retiredRoutingKeys?: readonly string[];
  /** One delay queue per retry attempt; the message dead-letters back to the work queue after the delay. */
  retryDelaysMs: readonly number[];
}

export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1_000, 5_000, 15_000, 60_000, 300_000];

/**
 * Named by delay, so changing the delays declares new queues instead of clashing with the old arguments.
 * (`.delay.`, not the `.retry.` of versions before publishers were verified: those queues dead-lettered
 * through the default exchange, which a service may no longer write to, and their arguments cannot change.)
 */
export function retryQueueName(queue: string, delayMs: number): string {
  return `${queue}.delay.${delayMs}ms`;
}

/**
 * The parking queue of versions that parked on the broker. Parked messages now live in the service's
 * `parked_message` table; a consumer moves what is left in this queue there at start, then deletes it.
 */
export function parkingQueueName(queue: string): string {
  return `${queue}.parked`;
}

/**
 * The service's own direct exchange in front of its retry and parking queues (routing key: the queue's
 * name). Retries and parking go through it rather than the default exchange, so no service needs write
 * access to the default exchange, through which it could drop a message into any queue.
 */
export function redirectExchangeName(queue: string): string {
  return `${queue}.redirect`;
}

/**
 * The shared exchanges and the unroutable queue belong to no service: the broker set-up declares them
 * (packages/broker-setup), and a service has no configure rights on them. A service only checks, passively,
 * that they are there; without them it cannot work, and the error says what to run.
 */
export async function checkSharedObjects(channel: ConfirmChannel): Promise<void> {
  try {
    await channel.checkExchange(DOMAIN_EXCHANGE);
  } catch (err) {
    throw new Error(
      `the exchange ${DOMAIN_EXCHANGE} does not exist on this vhost: run the broker set-up (packages/broker-setup) first (${(err as Error).message})`,
    );
  }
}

/**
 * Work queues are quorum queues (replicated, at-least-once; they count deliveries, see the consumer's delivery limit). Delay queues are classic durable
 * queues whose per-queue TTL dead-letters messages back to the work queue through the service's own redirect
 * exchange: delayed retries without a broker plugin, and without write access to the default exchange
 * (RabbitMQ checks that the declaring user may write to a queue's dead-letter exchange).
 */
export async function declareConsumerTopology(channel: ConfirmChannel, topology: ConsumerTopology): Promise<void> {
  await checkSharedObjects(channel);
  const redirect = redirectExchangeName(topology.queue);
  await channel.assertExchange(redirect, 'direct', { durable: true });
  await channel.assertQueue(topology.queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(topology.queue, redirect, topology.queue);
  for (const routingKey of topology.routingKeys) {
    await channel.bindQueue(topology.queue, DOMAIN_EXCHANGE, routingKey);
  }
  for (const routingKey of topology.retiredRoutingKeys ?? []) {
    await channel.unbindQueue(topology.queue, DOMAIN_EXCHANGE, routingKey);
  }
  for (const delayMs of new Set(topology.retryDelaysMs)) {
    await channel.assertQueue(retryQueueName(topology.queue, delayMs), {
      durable: true,
      arguments: {
        'x-queue-type': 'classic',
        'x-message-ttl': delayMs,
        'x-dead-letter-exchange': redirect,
        'x-dead-letter-routing-key': topology.queue,
      },
    });
  }
  for (const queue of [...new Set(topology.retryDelaysMs)].map((delayMs) => retryQueueName(topology.queue, delayMs))) {
    await channel.bindQueue(queue, redirect, queue);
  }
}
