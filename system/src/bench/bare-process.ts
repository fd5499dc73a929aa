import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import amqplib, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { jwtVerify } from 'jose';
import nodemailer, { type Transporter } from 'nodemailer';
import pg from 'pg';
import { BARE_EXCHANGE, BARE_QUEUES, type BareRole } from './bare-topology';

/**
 * One process of the bench's bare baseline (`node bare-process.js <role>`): the same work as the platform's
 * service of that name, written the cheapest correct way with plain `pg` and `amqplib` — every transaction
 * is one statement (data-modifying CTEs: inbox row, effect and outbox row commit together or not at all),
 * outbox rows are published with confirms right after commit and marked in batches, consumers deduplicate by
 * message id in an inbox table, the mail is sent through a pooled SMTP transport outside any transaction.
 * No validation library, no ORM, no tracing, no retry queues: the floor the platform's ratio is taken against.
 * It reports `{ ready: port }` to its parent over IPC and stops on SIGTERM.
 */

interface Envelope {
  id: string;
  type: string;
  source: string;
  time: string;
  data: Record<string, string>;
}

interface Outgoing {
  id: string;
  routingKey: string;
  payload: string;
}

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const role = process.argv[2] as BareRole;
const pool = role === 'gateway' ? undefined : new pg.Pool({ connectionString: env('DATABASE_URL'), max: 10 });
// A server-ended idle connection must not crash the process (the bench drops the database at the end).
pool?.on('error', () => undefined);
const db = (): pg.Pool => pool!;
let broker: ChannelModel | undefined;
let publisher: ConfirmChannel | undefined;
let server: Server | undefined;
let mailer: Transporter | undefined;

function envelope(type: string, data: Record<string, string>): Outgoing {
  const id = randomUUID();
  const event: Envelope = { id, type, source: `/bare/${role}`, time: new Date().toISOString(), data };
  return { id, routingKey: type, payload: JSON.stringify({ specversion: '1.0', datacontenttype: 'application/json', ...event }) };
}

/** Outbox rows published and confirmed, marked in one statement per batch (as the platform's relay does). */
const confirmed: string[] = [];
let markScheduled = false;
function markPublished(id: string): void {
  confirmed.push(id);
  if (markScheduled) return;
  markScheduled = true;
  setTimeout(() => {
    markScheduled = false;
    const ids = confirmed.splice(0);
    db()
      .query(`update outbox set published_at = now() where id = any($1::uuid[])`, [ids])
      .catch(() => undefined); // unmarked rows are published again at the next start: at least once
  }, 5);
}

function publish(event: Outgoing): void {
  const content = Buffer.from(event.payload);
  publisher!.publish(
    BARE_EXCHANGE,
    event.routingKey,
    content,
    { persistent: true, messageId: event.id, type: event.routingKey, contentType: 'application/json', appId: role, timestamp: Date.now() },
    (err) => {
      if (!err) markPublished(event.id);
    },
  );
}

/** What an earlier run committed but did not get confirmed: published again (consumers deduplicate). */
async function republishPending(): Promise<void> {
  const { rows } = await db().query<{ id: string; routing_key: string; payload: string }>(
    `select id, routing_key, payload::text from outbox where published_at is null order by id limit 10000`,
  );
  for (const row of rows) publish({ id: row.id, routingKey: row.routing_key, payload: row.payload });
}

/** A delivery: settled after its transaction commits; a failure is retried after a second (the broker redelivers). */
async function consume(queue: string, prefetch: number, handle: (event: Envelope) => Promise<Outgoing | undefined>): Promise<void> {
  const channel = await broker!.createChannel();
  await channel.prefetch(prefetch);
  await channel.consume(queue, (message: ConsumeMessage | null) => {
    if (!message) return;
    let event: Envelope;
    try {
      event = JSON.parse(message.content.toString('utf8')) as Envelope;
      if (typeof event.id !== 'string' || typeof event.data !== 'object' || event.data === null) throw new Error('not an event');
    } catch {
      channel.nack(message, false, false); // unreadable: dropped (the platform parks it)
      return;
    }
    handle(event).then(
      (outgoing) => {
        channel.ack(message);
        if (outgoing) publish(outgoing);
      },
      (err: Error) => {
        if (process.env.BARE_DEBUG) console.error(`${role}: ${err.message}`);
        setTimeout(() => channel.nack(message, false, true), 1_000);
      },
    );
  });
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function problem(response: ServerResponse, status: number, title: string): void {
  response.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status, title }));
}

/** The gateway: the platform's JWT check (HS256, issuer, audience, role) and a keep-alive proxy hop to the driver. */
function gateway(): Server {
  const key = new TextEncoder().encode(env('JWT_SECRET'));
  const issuer = env('JWT_ISSUER');
  const audience = env('JWT_AUDIENCE');
  const upstream = new URL(env('DRIVER_URL'));
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  return createServer((request, response) => {
    const token = /^Bearer\s+([A-Za-z0-9\-_.]+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token) return problem(response, 401, 'Unauthorized');
    jwtVerify(token, key, { issuer, audience, algorithms: ['HS256'] }).then(
      ({ payload }) => {
        if (!Array.isArray(payload.roles) || !payload.roles.includes('admin')) return problem(response, 403, 'Forbidden');
        const forwarded = httpRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            path: request.url,
            method: request.method,
            agent,
            headers: { 'content-type': request.headers['content-type'] ?? 'application/json', 'x-caller': String(payload.sub) },
          },
          (answer) => {
            response.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
            answer.pipe(response);
          },
        );
        forwarded.on('error', () => problem(response, 502, 'Bad Gateway'));
        request.pipe(forwarded);
      },
      () => problem(response, 401, 'Unauthorized'),
    );
  });
}

/** The driver's HTTP side: one statement inserts the driver and its outbox row; the unique email index decides 409. */
function driverApi(): Server {
  return createServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/v1/drivers') return problem(response, 404, 'Not Found');
    readBody(request)
      .then(async (body) => {
        const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        const fields = ['firstName', 'lastName', 'email', 'phone'] as const;
        if (fields.some((field) => typeof input[field] !== 'string') || !String(input.email).includes('@')) {
          return problem(response, 400, 'Bad Request');
        }
        const [firstName, lastName, email, phone] = fields.map((field) => String(input[field])) as [string, string, string, string];
        const driverId = randomUUID();
        const event = envelope('driver.registered.v2', { driverId, firstName, lastName, email: email.toLowerCase(), phone, version: '1' });
        try {
          await db().query(
            `with d as (insert into driver (id, email, first_name, last_name, phone, status) values ($1, $2, $3, $4, $5, 'PENDING') returning id)
             insert into outbox (id, routing_key, payload) select $6::uuid, $7, $8::jsonb from d`,
            [driverId, email.toLowerCase(), firstName, lastName, phone, event.id, event.routingKey, event.payload],
          );
        } catch (err) {
          if ((err as { code?: string }).code === '23505') return problem(response, 409, 'Conflict');
          throw err;
        }
        response.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: driverId, status: 'PENDING' }));
        publish(event);
      })
      .catch(() => problem(response, 500, 'Internal Server Error'));
  });
}

/** Identity: inbox row, directory account (unique email), link and outbox row in one statement. */
async function identity(): Promise<void> {
  await consume(BARE_QUEUES.identity, 32, async (event) => {
    const { driverId, email } = event.data;
    const objectId = randomUUID();
    const created = envelope('identity.account.created', { driverId: driverId!, objectId });
    try {
      const { rowCount } = await db().query(
        `with i as (insert into inbox (id) values ($1) on conflict do nothing returning id),
              u as (insert into directory_user (object_id, email, driver_id) select $2::uuid, $3, $4::uuid from i returning object_id),
              l as (insert into link (driver_id, object_id) select $4::uuid, object_id from u returning driver_id)
         insert into outbox (id, routing_key, payload) select $5::uuid, $6, $7::jsonb from l`,
        [event.id, objectId, email, driverId, created.id, created.routingKey, created.payload],
      );
      return rowCount ? created : undefined;
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      // The address already has an account: the saga's failure branch, recorded once.
      const failed = envelope('identity.account.creation-failed', { driverId: driverId!, code: 'account-exists' });
      const { rowCount } = await db().query(
        `with i as (insert into inbox (id) values ($1) on conflict do nothing returning id)
         insert into outbox (id, routing_key, payload) select $2::uuid, $3, $4::jsonb from i`,
        [event.id, failed.id, failed.routingKey, failed.payload],
      );
      return rowCount ? failed : undefined;
    }
  });
}

/** The driver's consumer: inbox row, activation and outbox row in one statement. */
async function driverActivation(): Promise<void> {
  await consume(BARE_QUEUES.driver, 32, async (event) => {
    const activatedId = randomUUID();
    const { rows } = await db().query<{ payload: string }>(
      `with i as (insert into inbox (id) values ($1) on conflict do nothing returning id),
            d as (update driver set status = 'ACTIVE', object_id = $2 where id = $3 and status = 'PENDING' and exists (select from i)
                  returning id, email, first_name)
       insert into outbox (id, routing_key, payload)
       select $4::uuid, 'driver.activated', jsonb_build_object('specversion', '1.0', 'id', $4::uuid::text, 'type', 'driver.activated',
         'source', '/bare/driver', 'time', now(), 'datacontenttype', 'application/json',
         'data', jsonb_build_object('driverId', d.id, 'email', d.email, 'firstName', d.first_name)) from d
       returning payload::text`,
      [event.id, event.data.objectId, event.data.driverId, activatedId],
    );
    return rows[0] ? { id: activatedId, routingKey: 'driver.activated', payload: rows[0].payload } : undefined;
  });
}

/** The mailer: a delivery already in the inbox is done; else the mail, then its inbox row and sent record. */
async function mailerWorker(): Promise<void> {
  // Pooled connections, and TCP_NODELAY: without it the message's final dot waits for a delayed ACK.
  // nodemailer has no such option: its `getSocket` hook may hand it a connected socket, here one with TCP_NODELAY.
  const smtp = new URL(env('SMTP_URL'));
  mailer = nodemailer.createTransport({
    url: smtp.toString(),
    pool: true,
    maxConnections: 4,
    maxMessages: Infinity,
    getSocket: (_options: unknown, callback: (err: Error | null, socketOptions?: { connection: Socket }) => void) => {
      const socket = connect({ host: smtp.hostname, port: Number(smtp.port), noDelay: true });
      socket.once('error', callback);
      socket.once('connect', () => {
        socket.off('error', callback);
        callback(null, { connection: socket });
      });
    },
  } as nodemailer.TransportOptions);
  await consume(BARE_QUEUES.mailer, 16, async (event) => {
    const { rowCount } = await db().query('select 1 from inbox where id = $1', [event.id]);
    if (rowCount) return undefined;
    await mailer!.sendMail({
      from: 'fleet@example.com',
      to: event.data.email,
      subject: 'Welcome to the fleet',
      text: `Hello ${event.data.firstName}, your driver account is active.`,
      messageId: `<${event.id}@bare.local>`,
    });
    await db().query(
      `with i as (insert into inbox (id) values ($1) on conflict do nothing returning id)
       insert into sent_mail (message_id, driver_id) select $1::uuid, $2::uuid from i`,
      [event.id, event.data.driverId],
    );
    return undefined;
  });
}

/** Notification: inbox row and notification row in one statement. */
async function notificationWorker(): Promise<void> {
  await consume(BARE_QUEUES.notification, 32, async (event) => {
    await db().query(
      `with i as (insert into inbox (id) values ($1) on conflict do nothing returning id)
       insert into notification (id, driver_id, kind) select $2::uuid, $3::uuid, 'driver-activated' from i`,
      [event.id, randomUUID(), event.data.driverId],
    );
    return undefined;
  });
}

async function listen(app: Server): Promise<number> {
  server = app;
  app.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const address = app.address();
  return typeof address === 'object' && address ? address.port : 0;
}

async function main(): Promise<void> {
  if (role !== 'gateway') {
    broker = await amqplib.connect(env('AMQP_URL'), { noDelay: true });
    broker.on('error', () => undefined);
    publisher = await broker.createConfirmChannel();
  }
  let port = 0;
  if (role === 'gateway') port = await listen(gateway());
  if (role === 'driver') {
    port = await listen(driverApi());
    await driverActivation();
  }
  if (role === 'identity') await identity();
  if (role === 'mailer') await mailerWorker();
  if (role === 'notification') await notificationWorker();
  if (role === 'driver' || role === 'identity') await republishPending();
  process.send?.({ ready: port });
}

async function stop(): Promise<void> {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server?.closeAllConnections();
  mailer?.close();
  await broker?.close().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  process.exit(0);
}

process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
main().catch((err: Error) => {
  console.error(`bare ${role}: ${err.message}`);
  process.exit(1);
});
