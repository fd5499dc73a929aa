import type { ConfirmChannel } from 'amqplib';

/** The one durable topic exchange every domain event is published to. */
export const DOMAIN_EXCHANGE = 'onboarding.events';
/** Content type of every published event: a CloudEvents structured-mode JSON envelope. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

/** Events no queue is bound for yet land here instead of vanishing (the exchange's alternate exchange). */
export const UNROUTABLE_EXCHANGE = 'onboarding.unroutable';
export const UNROUTABLE_QUEUE = 'onboarding.unroutable';

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

/** Named by delay, so changing the delays declares new queues instead of clashing with the old arguments. */
export function retryQueueName(queue: string, delayMs: number): string {
  return `${queue}.retry.${delayMs}ms`;
}

export function parkingQueueName(queue: string): string {
  return `${queue}.parked`;
}

export async function declareExchange(channel: ConfirmChannel): Promise<void> {
  await channel.assertExchange(UNROUTABLE_EXCHANGE, 'fanout', { durable: true });
  await channel.assertQueue(UNROUTABLE_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(UNROUTABLE_QUEUE, UNROUTABLE_EXCHANGE, '');
  await channel.assertExchange(DOMAIN_EXCHANGE, 'topic', { durable: true, alternateExchange: UNROUTABLE_EXCHANGE });
}

/**
 * Work and parking queues are quorum queues (replicated, at-least-once). Delay queues are classic durable
 * queues whose per-queue TTL dead-letters messages back to the work queue through the default exchange:
 * delayed retries without a broker plugin.
 */
export async function declareConsumerTopology(channel: ConfirmChannel, topology: ConsumerTopology): Promise<void> {
  await declareExchange(channel);
  await channel.assertQueue(topology.queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
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
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': topology.queue,
      },
    });
  }
  await channel.assertQueue(parkingQueueName(topology.queue), {
    durable: true,
    arguments: { 'x-queue-type': 'quorum' },
  });
}
