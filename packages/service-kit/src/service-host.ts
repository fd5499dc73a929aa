import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Broker, MessageConsumer, OutboxRelay } from '@onboarding/messaging';
import type { RemoteCallBreaker } from './breaker';
import { healthRoutes, type ReadinessCheck } from './health';
import type { ServiceMetrics } from './metrics';

export interface BackgroundWorker {
  start(): void;
  stop(): Promise<void>;
}

export interface ServiceHostParts {
  name: string;
  logger: Logger;
  http: FastifyInstance;
  orm?: MikroORM;
  broker?: Broker;
  relay?: OutboxRelay;
  consumers?: MessageConsumer[];
  /** Background loops started after the consumers and stopped before them (sweepers, schedulers). */
  workers?: BackgroundWorker[];
  /** Breakers around remote calls; their states are shown with readiness. */
  breakers?: RemoteCallBreaker[];
  /** Served at /metrics; the relay's backlog and the breakers are wired into it. */
  metrics?: ServiceMetrics;
  /** Extra readiness checks (an upstream, a mail server). */
  checks?: Record<string, ReadinessCheck>;
  /** Extra resources to close last (timers, clients). */
  onStop?: () => Promise<void>;
}

/**
 * Owns the lifecycle of one service process: readiness derived from its dependencies, start in dependency
 * order, and a graceful stop that drains HTTP requests and in-flight messages before closing connections.
 */
export class ServiceHost {
  private stopping?: Promise<void>;

  constructor(private readonly parts: ServiceHostParts) {
    const checks: Record<string, ReadinessCheck> = { ...parts.checks };
    if (parts.orm) {
      const orm = parts.orm;
      checks.database = () => orm.isConnected();
    }
    if (parts.broker) {
      const broker = parts.broker;
      checks.broker = () => broker.isConnected();
    }
    const consumers = parts.consumers ?? [];
    if (consumers.length > 0) checks.consumer = () => consumers.every((consumer) => consumer.isConsuming());
    const breakers = parts.breakers ?? [];
    if (parts.metrics) {
      const metrics = parts.metrics;
      if (parts.relay) metrics.watchOutbox(parts.relay);
      if (breakers.length) metrics.watchBreakers(breakers);
      parts.http.get('/metrics', async (_request, reply) => {
        const { contentType, body } = await metrics.render();
        return reply.type(contentType).send(body);
      });
    }
    parts.http.register(healthRoutes, {
      service: parts.name,
      checks,
      details: breakers.length
        ? () => ({ breakers: Object.fromEntries(breakers.map((breaker) => [breaker.name, breaker.state])) })
        : undefined,
    });
  }

  get http(): FastifyInstance {
    return this.parts.http;
  }

  /** Starts the relay and consumers, then listens; resolves with the address it listens on. */
  async start(listen: { host: string; port: number }): Promise<string> {
    this.parts.relay?.start();
    for (const consumer of this.parts.consumers ?? []) await consumer.start();
    for (const worker of this.parts.workers ?? []) worker.start();
    const address = await this.parts.http.listen({ host: listen.host, port: listen.port });
    this.parts.logger.info({ address }, `${this.parts.name} ready`);
    return address;
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const { logger } = this.parts;
    logger.info('shutting down: draining requests and messages');
    await this.parts.http.close().catch((err: Error) => logger.warn({ err: err.message }, 'http close failed'));
    for (const worker of this.parts.workers ?? []) await worker.stop();
    for (const consumer of this.parts.consumers ?? []) await consumer.stop();
    await this.parts.relay?.stop().catch((err: Error) => logger.warn({ err: err.message }, 'relay stop failed'));
    await this.parts.broker?.close().catch((err: Error) => logger.warn({ err: err.message }, 'broker close failed'));
    await this.parts.orm?.close().catch((err: Error) => logger.warn({ err: err.message }, 'database close failed'));
    for (const breaker of this.parts.breakers ?? []) breaker.shutdown();
    await this.parts.onStop?.();
    logger.info('stopped');
  }
}

/**
 * The body of every `main.ts`: start, then stop gracefully on SIGTERM/SIGINT (a second signal or a stop
 * that hangs past the deadline exits at once). A start-up failure exits non-zero with its reason.
 */
export async function runUntilSignalled(
  logger: Logger,
  start: () => Promise<{ stop(): Promise<void> }>,
  stopDeadlineMs = 20_000,
): Promise<void> {
  let running: { stop(): Promise<void> };
  try {
    running = await start();
  } catch (err) {
    logger.fatal({ err }, 'failed to start');
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 200).unref();
    return;
  }
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) process.exit(1);
    signalled = true;
    logger.info({ signal }, 'signal received');
    setTimeout(() => {
      logger.error('graceful stop timed out');
      process.exit(1);
    }, stopDeadlineMs).unref();
    running.stop().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
