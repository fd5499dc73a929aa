import type { FastifyInstance } from 'fastify';
import type { ReadinessCheck } from './health';

/** One step of HTTP set-up: a fastify plugin with its options, or a hook on the root instance. */
export type HttpSetup = (http: FastifyInstance) => PromiseLike<unknown> | void;

/** A loop a service runs beside its HTTP server (a sweeper, a live stream); started last, stopped first. */
export interface BackgroundWorker {
  start(): void;
  stop(): Promise<void>;
}

/**
 * A runtime part a service plugs into the chassis (the messaging runtime is one: broker, relay, consumer).
 * The chassis starts components in the order given before it listens, and stops them in reverse order after
 * HTTP closed and the workers stopped, so in-flight work drains before the connections it needs go away.
 */
export interface ServiceComponent {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Readiness checks it contributes: the service is ready only when each passes. */
  readonly checks?: Record<string, ReadinessCheck>;
  /**
   * States it contributes to readiness's details without deciding it (`broker`, `consumer`, `relay`): parts whose
   * loss stops background work but not the service's HTTP.
   */
  readonly observed?: Record<string, ReadinessCheck>;
  /** HTTP routes it brings to every service that uses it (messaging: the internal parked-message routes). */
  readonly routes?: readonly HttpSetup[];
}

/** What readiness shows of a circuit breaker, and how the chassis releases its timers on stop. */
export interface ObservedBreaker {
  readonly name: string;
  readonly state: 'closed' | 'open' | 'half-open';
  shutdown(): void;
}
