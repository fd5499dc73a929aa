import type { MikroORM } from '@mikro-orm/core';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { Broker } from './broker';
import { contentMessageId, insertParked, replayHeaders, splitPersonalData } from './parked-message';
import { UNROUTABLE_QUEUE, checkSharedObjects } from './topology';

export interface UnroutableKeeperOptions {
  service: string;
  schema: string;
  broker: Broker;
  orm: MikroORM;
  logger: Logger;
  /** Longest wait between two attempts to record a message while the database is away (default 2 s). */
  retryMaxMs?: number;
}

/**
 * Consumes `onboarding.unroutable` (events the domain exchange could route nowhere) into the service's
 * parked-message table with reason `unroutable`, scrubbed like any parked message, so they are listed, replayed,
 * erased and expired the same way. One service does it (the driver service, which the broker set-up lets read the
 * queue). A message is acknowledged only after its row is committed; while the database is away the message is
 * held (never nacked, which a quorum queue would count as a delivery) and recording is retried with backoff.
 */
export class UnroutableKeeper {
  private channel?: ChannelWrapper;
  private accepting = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: UnroutableKeeperOptions) {}

  async start(): Promise<void> {
    this.accepting = true;
    this.channel = this.options.broker.createChannel(`${UNROUTABLE_QUEUE}.keeper`, (channel) => checkSharedObjects(channel));
    this.channel.on('error', (err: Error) => this.options.logger.error({ err: err.message }, 'unroutable channel setup failed'));
    await this.channel.waitForConnect();
    await this.channel.consume(
      UNROUTABLE_QUEUE,
      (message) => {
        if (!this.accepting) return;
        const work = this.keep(message).catch((err: Error) =>
          this.options.logger.error({ err: err.message }, 'could not keep an unroutable message'),
        );
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      },
      { prefetch: 16 },
    );
  }

  async stop(): Promise<void> {
    this.accepting = false;
    if (!this.channel) return;
    await this.channel.cancelAll().catch(() => undefined);
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    await this.channel.close().catch(() => undefined);
  }

  private async keep(message: ConsumeMessage): Promise<void> {
    const { payload, personal } = splitPersonalData(message.content);
    let subject: string | undefined;
    try {
      const body = JSON.parse(message.content.toString('utf8')) as { subject?: unknown };
      if (typeof body.subject === 'string') subject = body.subject.slice(0, 255);
    } catch {
      // not JSON: no subject
    }
    const { messageId, type, correlationId, timestamp, contentType, userId } = message.properties as unknown as Record<string, unknown>;
    const properties: Record<string, string | number> = {};
    for (const [key, value] of Object.entries({ messageId, type, correlationId, timestamp, contentType })) {
      if (typeof value === 'string' || typeof value === 'number') properties[key] = value;
    }
    const record = {
      sourceQueue: UNROUTABLE_QUEUE,
      messageId: (typeof messageId === 'string' && messageId ? messageId : contentMessageId(message.content)).slice(0, 255),
      type: typeof type === 'string' ? type : undefined,
      routingKey: message.fields.routingKey,
      subject,
      reason: 'unroutable',
      error: `no queue is bound to ${message.fields.routingKey} on the domain exchange`,
      attempts: 0,
      deliveryCount: 1,
      // The broker checked the `user-id` against the publishing connection: the event's publisher.
      verifiedPublisher: typeof userId === 'string' && userId ? userId : undefined,
      properties,
      headers: replayHeaders(message.properties.headers),
      payload,
      personalData: personal,
      firstReceivedAt: new Date(),
      parkedBy: this.options.service,
    };
    for (let delayMs = 100; ; delayMs = Math.min(this.options.retryMaxMs ?? 2_000, delayMs * 2)) {
      try {
        await insertParked(this.options.orm.em.fork(), this.options.schema, record);
        break;
      } catch (err) {
        // Bounded by stop(): a stopping keeper leaves the message unacknowledged, and the broker keeps it.
        if (!this.accepting) return;
        this.options.logger.warn({ err: (err as Error).message, retryInMs: delayMs }, 'could not record an unroutable message; retrying');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
    this.channel?.ack(message);
  }
}
