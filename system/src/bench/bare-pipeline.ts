import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import amqplib from 'amqplib';
import pg from 'pg';
import { createTestDatabase, createTestVhost, type TestResource } from '@onboarding/test-infra';
import { BARE_BINDINGS, BARE_EXCHANGE, BARE_QUEUES, BARE_ROLES, BARE_SCHEMAS, withSearchPath, type BareRole } from './bare-topology';

/** The compiled entry, from `dist/bench` (the CLI) and from `src/bench` (the smoke test under ts-jest) alike. */
const BARE_PROCESS_ENTRY = resolve(__dirname, '..', '..', 'dist', 'bench', 'bare-process.js');

export interface BarePipelineOptions {
  smtpUrl: string;
  /** The platform gateway's development token settings: the bare gateway checks the same tokens. */
  jwt: { secret: string; issuer: string; audience: string };
  /** Lets the bench put each process's database connections through its round-trip counter. */
  databaseUrlFor?: (role: BareRole, url: string) => Promise<string>;
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * The bench's fair baseline: five bare processes (`bare-process.ts`) doing the platform's work for one
 * registration, on a database and a vhost of their own on the same servers — gateway (JWT check, keep-alive
 * proxy hop) → driver (driver + outbox row, publish with confirm) → identity (inbox + directory account +
 * link + outbox) → driver (inbox + activation + outbox) → mailer (pooled SMTP with TCP_NODELAY, then inbox +
 * sent mail) and notification (inbox + notification).
 */
export class BarePipeline {
  url = '';
  databaseName = '';
  private database?: TestResource;
  private vhost?: TestResource;
  private readonly running = new Map<BareRole, Running>();

  constructor(private readonly options: BarePipelineOptions) {}

  async start(timeoutMs = 30_000): Promise<void> {
    [this.database, this.vhost] = await Promise.all([createTestDatabase('benchbare'), createTestVhost('benchbare')]);
    this.databaseName = this.database.name;
    const admin = new pg.Client({ connectionString: this.database.url });
    await admin.connect();
    try {
      for (const [schema, tables] of Object.entries(BARE_SCHEMAS)) {
        await admin.query(`create schema bare_${schema}; set search_path = bare_${schema}; ${tables}`);
      }
    } finally {
      await admin.end();
    }
    const broker = await amqplib.connect(this.vhost.url);
    try {
      const channel = await broker.createChannel();
      await channel.assertExchange(BARE_EXCHANGE, 'topic', { durable: true });
      for (const queue of Object.values(BARE_QUEUES)) await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      for (const [queue, key] of BARE_BINDINGS) await channel.bindQueue(queue, BARE_EXCHANGE, key);
    } finally {
      await broker.close();
    }
    let driverUrl = '';
    for (const role of BARE_ROLES) {
      const env: Record<string, string> = { AMQP_URL: this.vhost.url };
      if (role === 'gateway') {
        Object.assign(env, {
          DRIVER_URL: driverUrl,
          JWT_SECRET: this.options.jwt.secret,
          JWT_ISSUER: this.options.jwt.issuer,
          JWT_AUDIENCE: this.options.jwt.audience,
        });
      } else {
        const url = withSearchPath(this.database.url, `bare_${role}`);
        env.DATABASE_URL = this.options.databaseUrlFor ? await this.options.databaseUrlFor(role, url) : url;
      }
      if (role === 'mailer') env.SMTP_URL = this.options.smtpUrl;
      const port = await this.spawn(role, env, timeoutMs);
      if (role === 'driver') driverUrl = `http://127.0.0.1:${port}`;
      if (role === 'gateway') this.url = `http://127.0.0.1:${port}`;
    }
  }

  private spawn(role: BareRole, env: Record<string, string>, timeoutMs: number): Promise<number> {
    const child = fork(BARE_PROCESS_ENTRY, [role], {
      env: { PATH: process.env.PATH ?? '', BARE_DEBUG: process.env.BARE_DEBUG ?? '', ...env },
      stdio: ['ignore', 'ignore', process.env.BARE_DEBUG ? 'inherit' : 'pipe', 'ipc'],
    });
    let errors = '';
    child.stderr?.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString('utf8')).slice(-2_000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.running.set(role, { child, exited });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bare ${role} was not ready within ${timeoutMs} ms ${errors}`)), timeoutMs);
      child.once('message', (message: { ready?: number }) => {
        clearTimeout(timer);
        resolve(message.ready ?? 0);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`bare ${role} exited during start-up: ${errors}`));
      });
    });
  }

  pids(): Record<string, number> {
    return Object.fromEntries([...this.running].flatMap(([role, { child }]) => (child.pid ? [[role, child.pid]] : [])));
  }

  async stop(deadlineMs = 10_000): Promise<void> {
    await Promise.all(
      [...this.running.values()].map(async ({ child, exited }) => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.running.clear();
    await Promise.allSettled([this.database?.drop(), this.vhost?.drop()]);
  }
}
