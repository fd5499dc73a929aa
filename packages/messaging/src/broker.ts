import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, Options } from 'amqplib';
import type { Logger } from 'pino';
import { checkSharedObjects } from './topology';

/** The user a broker URL connects as (amqplib's own default, `guest`, when it names none). */
export function brokerUserOf(url: string): string {
  return decodeURIComponent(new URL(url).username) || 'guest';
}

export interface BrokerOptions {
  url: string;
  /** Shown as the connection name in the broker's management UI. */
  connectionName: string;
  logger: Logger;
  heartbeatSeconds?: number;
  reconnectSeconds?: number;
}

/**
 * One AMQP connection per process that reconnects by itself; channels created from it re-run their setup
 * (topology, prefetch, consumers) after every reconnect.
 */
export class Broker {
  readonly connection: AmqpConnectionManager;
  /**
   * The broker user this process connects as. Every message it publishes carries it as the AMQP `user-id`,
   * which RabbitMQ checks against the connection's user, so consumers know who really sent it.
   */
  readonly user: string;
  private readonly publisher: ChannelWrapper;
  private readonly logger: Logger;

  constructor(options: BrokerOptions) {
    this.logger = options.logger;
    this.user = brokerUserOf(options.url);
    this.connection = amqp.connect([options.url], {
      heartbeatIntervalInSeconds: options.heartbeatSeconds ?? 5,
      reconnectTimeInSeconds: options.reconnectSeconds ?? 1,
      connectionOptions: {
        // amqplib leaves Nagle's algorithm on; small confirm/ack frames then wait for delayed ACKs.
        noDelay: true,
        clientProperties: { connection_name: options.connectionName },
      },
    });
    this.connection.on('connect', () => this.logger.info('broker connected'));
    this.connection.on('disconnect', ({ err }) => this.logger.warn({ err: err?.message }, 'broker disconnected'));
    this.connection.on('connectFailed', ({ err }) => this.logger.warn({ err: err?.message }, 'broker connect failed'));
    this.connection.on('blocked', ({ reason }) => this.logger.warn({ reason }, 'broker blocked publishing'));
    this.publisher = this.connection.createChannel({
      name: `${options.connectionName}.publisher`,
      confirm: true,
      publishTimeout: 10_000,
      setup: (channel: ConfirmChannel) => checkSharedObjects(channel),
    });
  }

  isConnected(): boolean {
    return this.connection.isConnected();
  }

  async waitUntilConnected(timeoutMs: number): Promise<void> {
    // connect() waits for the next 'connect' event, which never comes if the connection is already up.
    if (!this.isConnected()) await this.connection.connect({ timeout: timeoutMs });
    await this.publisher.waitForConnect();
  }

  /** Publishes one message and resolves once the broker confirmed it (rejects when not confirmed in time). */
  async publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish): Promise<void> {
    if (!this.isConnected()) throw new Error('broker is not connected');
    await this.publisher.publish(exchange, routingKey, body, { persistent: true, ...options, userId: this.user });
  }

  createChannel(name: string, setup: (channel: ConfirmChannel) => Promise<void>): ChannelWrapper {
    return this.connection.createChannel({ name, confirm: true, setup });
  }

  async close(): Promise<void> {
    await this.publisher.close().catch(() => undefined);
    await this.connection.close();
  }
}
