import type { MikroORM } from '@mikro-orm/core';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { healthRoutes, type ReadinessCheck } from './health';
import type { BackgroundWorker, ObservedBreaker, ServiceComponent } from './lifecycle';
import type { ServiceMetrics } from './metrics';

export interface ServiceHostParts {
  name: string;
  logger: Logger;
  http: FastifyInstance;
  orm?: MikroORM;
  /** Runtime parts (the messaging runtime), started in order before listening and stopped in reverse. */
  components?: ServiceComponent[];
  /** Background loops started after the components and stopped before them (sweepers, schedulers). */
  workers?: BackgroundWorker[];
  /** Breakers around remote calls; their states are shown with readiness. */
  breakers?: ObservedBreaker[];
  /** Served at /metrics; the breakers are wired into it. */
  metrics?: ServiceMetrics;
  /** Extra readiness checks: what the service needs to serve HTTP at all. */
  checks?: Record<string, ReadinessCheck>;
  /** Dependencies shown with readiness that do not decide it (the gateway's upstreams). */
  observed?: Record<string, ReadinessCheck>;
  /** Extra resources to close last (timers, clients). */
  onStop?: () => Promise<void>;
}

/**
 * Owns the lifecycle of one service process: readiness derived from its dependencies (the database decides it;
 * the components' broker, consumer and relay are only observed, see healthRoutes), start in dependency order,
 * and a graceful stop that drains HTTP requests and in-flight messages before closing connections.
 */
export class ServiceHost {
  private stopping?: Promise<void>;

  constructor(private readonly parts: ServiceHostParts) {
    const checks: Record<string, ReadinessCheck> = { ...parts.checks };
    if (parts.orm) {
      const orm = parts.orm;
      checks.database = () => orm.isConnected();
    }
    const observed: Record<string, ReadinessCheck> = { ...parts.observed };
    for (const component of parts.components ?? []) {
      Object.assign(checks, component.checks);
      Object.assign(observed, component.observed);
    }
    const breakers = parts.breakers ?? [];
    if (parts.metrics) {
      const metrics = parts.metrics;
      if (breakers.length) metrics.watchBreakers(breakers);
      parts.http.get('/metrics', async (_request, reply) => {
        const { contentType, body } = await metrics.render();
        return reply.type(contentType).send(body);
      });
    }
    parts.http.register(healthRoutes, {
      service: parts.name,
      checks,
      observed,
      details: breakers.length ? () => ({ breakers: Object.fromEntries(breakers.map((breaker) => [breaker.name, breaker.state])) }) : undefined,
    });
  }

  get http(): FastifyInstance {
    return this.parts.http;
  }

  /** Starts the components and workers, then listens; resolves with the address it listens on. */
  async start(listen: { host: string; port: number }): Promise<string> {
    for (const component of this.parts.components ?? []) await component.start();
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
    for (const component of [...(this.parts.components ?? [])].reverse()) {
      await component.stop().catch((err: Error) => logger.warn({ err: err.message, component: component.name }, 'component stop failed'));
    }
    await this.parts.orm?.close().catch((err: Error) => logger.warn({ err: err.message }, 'database close failed'));
    for (const breaker of this.parts.breakers ?? []) breaker.shutdown();
    await this.parts.onStop?.();
    logger.info('stopped');
  }
}

/**
 * How long a graceful stop may take before the process exits anyway. The deployments' preStop delay plus this
 * must stay under their termination grace period, or the drain is cut by a SIGKILL (deploy-manifests test).
 */
export const GRACEFUL_STOP_DEADLINE_MS = 20_000;

/**
 * The body of every `main.ts`: start, then stop gracefully on SIGTERM/SIGINT (a second signal or a stop
 * that hangs past the deadline exits at once). A start-up failure exits non-zero with its reason.
 *
 * An uncaught exception or unhandled rejection is logged and drained through the same graceful stop, then the
 * process exits 1: the process is in a state nobody planned for, so it must not go on serving, but requests and
 * messages in flight still finish (or are handed back to the broker) and connections close in order, rather than
 * Node's default of dying mid-transaction. The orchestrator restarts it. An error raised while already stopping
 * is logged and the stop carries on.
 */
export async function runUntilSignalled(
  logger: Logger,
  start: () => Promise<{ stop(): Promise<void> }>,
  stopDeadlineMs = GRACEFUL_STOP_DEADLINE_MS,
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
  let stopping = false;
  const shutdown = (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      logger.error('graceful stop timed out');
      process.exit(1);
    }, stopDeadlineMs).unref();
    running.stop().then(
      () => process.exit(exitCode),
      (err: Error) => {
        logger.error({ err, reason }, 'stop failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: string) => {
    if (stopping) process.exit(1);
    logger.info({ signal }, 'signal received');
    shutdown(signal, 0);
  };
  const onUncaught = (kind: 'uncaught exception' | 'unhandled rejection') => (err: unknown) => {
    logger.fatal({ err }, stopping ? `${kind} while stopping` : `${kind}: stopping`);
    shutdown(kind, 1);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('uncaughtException', onUncaught('uncaught exception'));
  process.on('unhandledRejection', onUncaught('unhandled rejection'));
}
