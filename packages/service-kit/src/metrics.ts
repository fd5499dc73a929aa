import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ObservedBreaker } from './lifecycle';

const BREAKER_STATE = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * The `route` label of a request no route matched (a 404 for an unknown path): one series for all of them, so
 * neither a client probing URLs nor an id in a path can grow the number of series or put what it typed in a label.
 */
export const UNMATCHED_ROUTE = 'unmatched';

/** Seconds; from a health check's milliseconds to a proxied call that hits the gateway's upstream timeout. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One service's metrics registry in Prometheus format (served at /metrics): process defaults, HTTP requests and
 * breakers. Components and services register their own metrics into `registry` (messaging: processing outcomes,
 * retries, outbox backlog; the driver: saga outcomes). A registry per service instance, so tests can run several
 * in one process.
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

  /**
   * Counts every answered request and its duration by method, route pattern (`/v1/drivers/:id`, never the URL
   * asked for, which carries ids and query strings) and status. Added to the server before any route, so every
   * route and the not-found handler share the hook. prom-client does the counting; the hook is the only code here
   * because fastify-metrics, the plugin for this, registers into prom-client's global registry (one per process,
   * where tests run several services) and counts requests only through a histogram.
   */
  observeRequests(http: FastifyInstance): void {
    const labelNames = ['method', 'route', 'status'] as const;
    const requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames,
      registers: [this.registry],
    });
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to the end of its answer, by method, route pattern and status',
      labelNames,
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    http.addHook('onResponse', async (request, reply) => {
      const labels = { method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE, status: String(reply.statusCode) };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
