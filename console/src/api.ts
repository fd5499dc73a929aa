import type { ApiRole, Problem } from '@onboarding/contracts';

/** An RFC 9457 problem the API answered with, kept whole so a page can tell a conflict from a refusal. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'ApiProblem';
  }
}

/**
 * Calls the gateway with the session cookie (same origin). The cookie is HttpOnly, so no script here ever holds a
 * credential; the browser adds the Origin header the gateway checks on changes.
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const problem = (parsed ?? {}) as Partial<Problem>;
    // The problem's type is `/problems/<code>`; its last segment tells a conflict from any other refusal.
    const code = problem.type?.split('/').pop() ?? 'error';
    throw new ApiProblem(response.status, code, problem.detail ?? problem.title ?? `HTTP ${response.status}`);
  }
  return parsed as T;
}

export interface SessionView {
  subject: string;
  roles: ApiRole[];
  expiresAt: string;
}

/** What GET /admin/auth/session answers: who is signed in (or null) and how one signs in here. */
export interface SessionState {
  session: SessionView | null;
  devSignIn: boolean;
  oidcSignIn: boolean;
}

export const isAdmin = (session: SessionView): boolean => session.roles.includes('admin');

/** A message for any failure, for the pages' alerts. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
