import type { FastifyInstance } from 'fastify';
import {
  CONSUMING_SERVICES,
  INTERNAL_PARKED_PATHS,
  type InternalParkedAction,
  type InternalParkedList,
  type InternalParkedQuery,
  type InternalParkedResult,
  type OperatorActionKind,
} from '@onboarding/contracts';
import { OPERATIONS, watchedUrl, type OperationsConfig } from '../config';

/** The services with a parked-message table: every consuming service, operations included. */
export const PARKED_SERVICES: readonly string[] = CONSUMING_SERVICES.map((entry) => entry.name);

/**
 * One service's parked messages, asked over its internal routes (the messaging runtime serves them on every
 * consuming service). Operations never reads another service's table; its own it asks the same way, through
 * its own HTTP server in-process, so every service's answer has gone through the same validation.
 */
export class ServiceParked {
  constructor(
    private readonly app: FastifyInstance,
    private readonly config: OperationsConfig,
  ) {}

  list(service: string, query: InternalParkedQuery): Promise<InternalParkedList> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
    return this.call<InternalParkedList>(
      service,
      'GET',
      `${INTERNAL_PARKED_PATHS.list}?${search.toString()}`,
      undefined,
      this.config.OVERVIEW_PROBE_TIMEOUT_MS,
    );
  }

  act(service: string, action: OperatorActionKind, body: InternalParkedAction): Promise<InternalParkedResult> {
    return this.call<InternalParkedResult>(service, 'POST', INTERNAL_PARKED_PATHS[action], body, this.config.PARKED_ACTION_TIMEOUT_MS);
  }

  private async call<T>(service: string, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<T> {
    if (service === OPERATIONS.name) {
      const response = await this.app.inject({ method, url: path, ...(body === undefined ? {} : { payload: body as Record<string, unknown> }) });
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${detailOf(response.body)}`);
      return response.json<T>();
    }
    const url = new URL(path, watchedUrl(this.config, service as Parameters<typeof watchedUrl>[1]));
    const response = await fetch(url, {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${detailOf(text)}`);
    return JSON.parse(text) as T;
  }
}

/** A problem's detail (or its title) for the operator, never the whole body. */
function detailOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { detail?: unknown; title?: unknown };
    const text = typeof parsed.detail === 'string' ? parsed.detail : parsed.title;
    return typeof text === 'string' ? text : 'no detail';
  } catch {
    return 'an answer that is not JSON';
  }
}
