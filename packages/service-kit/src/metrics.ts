import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ObservedBreaker } from './lifecycle';

const BREAKER_STATE = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * One service's metrics registry in Prometheus format (served at /metrics): process defaults and breakers.
 * Components and services register their own metrics into `registry` (messaging: processing outcomes, retries,
 * outbox backlog; the driver: saga outcomes). A registry per service instance, so tests can run several in one
 * process.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
  }

  watchBreakers(breakers: readonly ObservedBreaker[]): void {
    new Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['breaker'],
      registers: [this.registry],
      collect() {
        for (const breaker of breakers) this.set({ breaker: breaker.name }, BREAKER_STATE[breaker.state]);
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
