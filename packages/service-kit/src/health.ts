import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export type ReadinessCheck = () => Promise<boolean> | boolean;

/**
 * `ready`: serving, and every observed dependency is up. `degraded`: serving HTTP (200), but an observed
 * dependency is down (the broker: events wait in the outbox). `unready`: a check failed, do not send traffic.
 */
export type ReadinessStatus = 'ready' | 'degraded' | 'unready';

export interface HealthOptions {
  service: string;
  /** What this instance needs to serve its HTTP traffic (the database); any one down answers 503. */
  checks: Record<string, ReadinessCheck>;
  /**
   * Dependencies whose state is shown in `details` without deciding readiness: losing one stops only part of the
   * work (the broker, the consumer and relay; the gateway's upstreams). Any one down makes the status `degraded`.
   */
  observed?: Record<string, ReadinessCheck>;
  /** Further informational state shown in `details` (breaker states). */
  details?: () => Record<string, unknown>;
}

// A probe must answer within the orchestrator's timeout (the manifests give it 3 s), whatever a check does.
const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  try {
    return await Promise.race([Promise.resolve(check()), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())]);
  } catch {
    return false;
  }
}

async function runChecks(checks: Record<string, ReadinessCheck>): Promise<Record<string, 'up' | 'down'>> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => runCheck(checks[name]!, CHECK_TIMEOUT_MS)));
  return Object.fromEntries(names.map((name, index) => [name, results[index] ? 'up' : 'down']));
}

/**
 * The probes, each with one meaning (the Kubernetes manifests use them so):
 *
 * - `/healthz`, liveness: the process answers HTTP, so its event loop is turning. It checks no dependency on
 *   purpose: a database or broker outage is not cured by restarting every process, and a restart storm would
 *   make it worse. The HTTP server listens only once start-up (migrations, the broker's topology) is done, so
 *   the same endpoint serves the startup probe.
 * - `/readyz`, readiness: this instance can serve its HTTP traffic now. 200 unless a check fails (503); the
 *   status says `degraded` when an observed dependency is down, and `details` gives each one's state.
 */
export const healthRoutes = fp(
  async (app: FastifyInstance, options: HealthOptions) => {
    app.get('/healthz', async () => ({ status: 'ok', service: options.service }));
    app.get('/readyz', async (_request, reply) => {
      const [checks, observed] = await Promise.all([runChecks(options.checks), runChecks(options.observed ?? {})]);
      const ready = Object.values(checks).every((state) => state === 'up');
      const degraded = Object.values(observed).some((state) => state === 'down');
      const status: ReadinessStatus = !ready ? 'unready' : degraded ? 'degraded' : 'ready';
      const details = { ...observed, ...options.details?.() };
      return reply.status(ready ? 200 : 503).send({
        status,
        service: options.service,
        checks,
        ...(Object.keys(details).length ? { details } : {}),
      });
    });
  },
  { name: 'health-routes' },
);
