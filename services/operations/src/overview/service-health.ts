import type { ServiceOverview } from '@onboarding/contracts';

interface Readiness {
  status?: unknown;
  checks?: unknown;
  details?: unknown;
}

/**
 * What one service says about itself: its `/readyz` (status, checks, details with its breakers) and the outbox
 * gauges of its `/metrics` (`outbox_backlog`, `outbox_oldest_age_seconds` and `parked_messages`, which the
 * messaging runtime keeps for every service that publishes or consumes). Read over HTTP like the gateway's readiness watch does, never from the
 * service's tables: operations owns only its own schema.
 */
export async function serviceHealth(name: string, url: string, timeoutMs: number): Promise<ServiceOverview> {
  const [readiness, metrics] = await Promise.all([readJson(new URL('/readyz', url), timeoutMs), readText(new URL('/metrics', url), timeoutMs)]);
  if (!readiness) {
    return {
      service: name,
      status: 'unreachable',
      checks: null,
      details: null,
      breakers: {},
      outboxBacklog: null,
      outboxOldestAgeSeconds: null,
      parkedMessages: null,
    };
  }
  const status = readiness.status === 'ready' || readiness.status === 'degraded' || readiness.status === 'unready' ? readiness.status : 'unready';
  const details = isRecord(readiness.details) ? readiness.details : null;
  return {
    service: name,
    status,
    checks: isRecord(readiness.checks) ? stringValues(readiness.checks) : null,
    details,
    breakers: details && isRecord(details.breakers) ? stringValues(details.breakers) : {},
    outboxBacklog: metrics === null ? null : gauge(metrics, 'outbox_backlog'),
    outboxOldestAgeSeconds: metrics === null ? null : gauge(metrics, 'outbox_oldest_age_seconds'),
    parkedMessages: metrics === null ? null : gauge(metrics, 'parked_messages'),
  };
}

/**
 * The value of an unlabelled gauge in the Prometheus text format, or null when absent. Two known names in a
 * format of one sample per line: a parser library would bring the whole exposition grammar for that.
 */
export function gauge(exposition: string, name: string): number | null {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    return Number.isFinite(value) ? value : null;
  }
  return null;
}

async function readJson(url: URL, timeoutMs: number): Promise<Readiness | null> {
  try {
    // 503 is an answer too (unready, with the failing check): only a service that does not answer is unreachable.
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body: unknown = await response.json();
    return isRecord(body) ? body : null;
  } catch {
    return null;
  }
}

async function readText(url: URL, timeoutMs: number): Promise<string | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) {
      await response.body?.cancel();
      return null;
    }
    return await response.text();
  } catch {
    return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringValues(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
}
