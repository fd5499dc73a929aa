import amqplib, { type Channel, type ChannelModel, type ConsumeMessage, type GetMessage } from 'amqplib';

export interface ProbedMessage {
  routingKey: string;
  body: Record<string, unknown> & { id?: string; type?: string; subject?: string; data?: Record<string, unknown> };
  properties: ConsumeMessage['properties'];
}

/**
 * A test's own view of the broker: records every event published to the domain exchange and publishes raw
 * messages the way another service (or a broken one) would.
 */
export class EventProbe {
  readonly received: ProbedMessage[] = [];
  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
    private readonly exchange: string,
    private readonly publisherFor: (routingKey: string) => string | undefined,
  ) {}

  /**
   * Binds an exclusive queue to every key of `exchange`; the exchange must already exist (the broker set-up
   * declared it). `publisherFor` names the `user-id` a published message carries by default — the broker user
   * of the service that owns the routing key, which the probe may claim when its user is an impersonator
   * (see createTestVhost); without it, the probe's own user.
   */
  static async attach(amqpUrl: string, exchange: string, publisherFor?: (routingKey: string) => string | undefined): Promise<EventProbe> {
    const connection = await amqplib.connect(amqpUrl, { noDelay: true });
    connection.on('error', () => undefined); // a test's probe must never crash the test process
    const channel = await connection.createChannel();
    await channel.checkExchange(exchange);
    const ownUser = decodeURIComponent(new URL(amqpUrl).username) || 'guest';
    const probe = new EventProbe(connection, channel, exchange, publisherFor ?? (() => ownUser));
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, exchange, '#');
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        let body: ProbedMessage['body'];
        try {
          body = JSON.parse(message.content.toString('utf8')) as ProbedMessage['body'];
        } catch {
          body = { unparseable: message.content.toString('utf8') };
        }
        probe.received.push({ routingKey: message.fields.routingKey, body, properties: message.properties });
      },
      { noAck: true },
    );
    return probe;
  }

  ofType(type: string): ProbedMessage[] {
    return this.received.filter((message) => message.body.type === type);
  }

  /** Publishes as the routing key's owner would (its `user-id`), unless `properties` say otherwise (`userId: undefined`: none). */
  async publish(routingKey: string, body: unknown, properties: amqplib.Options.Publish = {}): Promise<void> {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.channel.publish(this.exchange, routingKey, content, {
      persistent: true,
      contentType: 'application/json',
      userId: this.publisherFor(routingKey),
      ...properties,
    });
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Messages ready in a queue (not counting ones delivered and not yet acknowledged). */
  async queueDepth(queue: string): Promise<number> {
    const { messageCount } = await this.channel.checkQueue(queue);
    return messageCount;
  }

  /** Reads (and removes) every message currently in a queue, e.g. a parking lot. */
  async drain(queue: string): Promise<GetMessage[]> {
    const messages: GetMessage[] = [];
    for (let i = 0; i < 10_000; i += 1) {
      const message = await this.channel.get(queue, { noAck: true });
      if (!message) break;
      messages.push(message);
    }
    return messages;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
