import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import amqplib, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import nodemailer, { type Transporter } from 'nodemailer';
import pg from 'pg';

/**
 * The floor: the same transactions and messages as one registration, written with plain `pg` and
 * `amqplib` and nothing of the project's runtime — HTTP → tx(driver + outbox row) → publish with confirm
 * → identity: tx(link + outbox) → publish → driver: tx(activate + outbox) → publish → mailer: SMTP send +
 * tx(sent mail) and notification: tx(notification). No validation, no inbox, no tracing, no retries:
 * what the hardware and the servers allow.
 */
export class BarePipeline {
  private pool!: pg.Pool;
  private connection!: ChannelModel;
  private publisher!: ConfirmChannel;
  private server!: Server;
  private mailer!: Transporter;
  url = '';

  constructor(private readonly options: { databaseUrl: string; amqpUrl: string; smtpUrl: string }) {}

  async start(): Promise<void> {
    this.pool = new pg.Pool({ connectionString: this.options.databaseUrl, max: 20 });
    // Without an 'error' listener, a server-ended idle connection (the bench database dropped) crashes the process.
    this.pool.on('error', () => undefined);
    await this.pool.query(`create schema if not exists bare;
      create table if not exists bare.driver (id uuid primary key, email text not null, status text not null, object_id uuid);
      create table if not exists bare.outbox (id uuid primary key, routing_key text not null, payload jsonb not null, published_at timestamptz);
      create table if not exists bare.link (driver_id uuid primary key, object_id uuid not null);
      create table if not exists bare.sent (driver_id uuid primary key);
      create table if not exists bare.notification (id uuid primary key, driver_id uuid not null);`);
    this.connection = await amqplib.connect(this.options.amqpUrl, { noDelay: true });
    this.connection.on('error', () => undefined);
    this.publisher = await this.connection.createConfirmChannel();
    await this.publisher.assertExchange('bare.events', 'topic', { durable: true });
    this.mailer = nodemailer.createTransport({ url: this.options.smtpUrl, pool: true, maxConnections: 4 } as nodemailer.TransportOptions);
    await this.consume('bare.identity', 'registered', async (event, client) => {
      const objectId = randomUUID();
      await client.query('insert into bare.link values ($1, $2)', [event.driverId, objectId]);
      return { key: 'created', event: { ...event, objectId } };
    });
    await this.consume('bare.driver', 'created', async (event, client) => {
      await client.query(`update bare.driver set status = 'ACTIVE', object_id = $2 where id = $1`, [event.driverId, event.objectId]);
      return { key: 'activated', event };
    });
    await this.consume('bare.mailer', 'activated', async (event, client) => {
      await this.mailer.sendMail({ from: 'bench@fleet.local', to: event.email, subject: 'Welcome', text: 'Welcome to the fleet' });
      await client.query('insert into bare.sent values ($1)', [event.driverId]);
      return undefined;
    });
    await this.consume('bare.notification', 'activated', async (event, client) => {
      await client.query('insert into bare.notification values ($1, $2)', [randomUUID(), event.driverId]);
      return undefined;
    });
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { email: string };
        const driverId = randomUUID();
        this.transaction(async (client) => {
          await client.query(`insert into bare.driver values ($1, $2, 'PENDING', null)`, [driverId, body.email]);
          return { key: 'registered', event: { driverId, email: body.email } };
        })
          .then(() => {
            response.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: driverId }));
          })
          .catch(() => response.writeHead(500).end());
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  /** tx(effect + outbox row), commit, publish with confirm, mark published. */
  private async transaction(work: (client: pg.PoolClient) => Promise<{ key: string; event: Record<string, string> } | undefined>): Promise<void> {
    const client = await this.pool.connect();
    let outgoing: { key: string; event: Record<string, string>; id: string } | undefined;
    try {
      await client.query('begin');
      const result = await work(client);
      if (result) {
        outgoing = { ...result, id: randomUUID() };
        await client.query('insert into bare.outbox values ($1, $2, $3, null)', [outgoing.id, result.key, JSON.stringify(result.event)]);
      }
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    if (!outgoing) return;
    const sent = outgoing;
    await new Promise<void>((resolve, reject) =>
      this.publisher.publish('bare.events', sent.key, Buffer.from(JSON.stringify(sent.event)), { persistent: true }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    await this.pool.query('update bare.outbox set published_at = now() where id = $1', [sent.id]);
  }

  private async consume(
    queue: string,
    key: string,
    handle: (event: Record<string, string>, client: pg.PoolClient) => Promise<{ key: string; event: Record<string, string> } | undefined>,
  ): Promise<void> {
    const channel = await this.connection.createChannel();
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(queue, 'bare.events', key);
    await channel.prefetch(32);
    await channel.consume(queue, (message) => {
      if (!message) return;
      const event = JSON.parse(message.content.toString('utf8')) as Record<string, string>;
      // After stop() the channel is gone; the broker redelivers whatever was not acknowledged.
      const settle = (ack: boolean) => {
        try {
          if (ack) channel.ack(message);
          else channel.nack(message, false, true);
        } catch {
          // channel closed
        }
      };
      this.transaction((client) => handle(event, client)).then(
        () => settle(true),
        () => settle(false),
      );
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.mailer.close();
    await this.connection.close().catch(() => undefined);
    await this.pool.end();
  }
}
