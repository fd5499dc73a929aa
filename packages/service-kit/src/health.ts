import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export type ReadinessCheck = () => Promise<boolean> | boolean;

export interface HealthOptions {
  service: string;
  checks: Record<string, ReadinessCheck>;
  /** Informational state shown with readiness (breaker states) that does not decide it. */
  details?: () => Record<string, unknown>;
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  try {
    return await Promise.race([Promise.resolve(check()), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())]);
  } catch {
    return false;
  }
}

/** `/healthz`: the process is alive. `/readyz`: every dependency answers; 503 with the failing ones otherwise. */
export const healthRoutes = fp(
  async (app: FastifyInstance, options: HealthOptions) => {
    app.get('/healthz', async () => ({ status: 'ok', service: options.service }));
    app.get('/readyz', async (_request, reply) => {
      const names = Object.keys(options.checks);
      const results = await Promise.all(names.map((name) => runCheck(options.checks[name]!, 2_000)));
      const checks = Object.fromEntries(names.map((name, index) => [name, results[index] ? 'up' : 'down']));
      const ready = results.every(Boolean);
      return reply.status(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'unready',
        service: options.service,
        checks,
        ...(options.details ? { details: options.details() } : {}),
      });
    });
  },
  { name: 'health-routes' },
);
