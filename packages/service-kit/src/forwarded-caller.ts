import { API_ROLES, type ApiRole } from '@onboarding/contracts';

/**
 * The headers in which the gateway forwards the caller it verified (the token's subject and its roles) to the
 * service it proxies to. The gateway removes any copy a client sent and sets its own, so a service may trust
 * them because it is reachable only from the gateway (the NetworkPolicies in deploy/), never because of what
 * the headers say.
 */
export const AUTH_SUBJECT_HEADER = 'x-auth-subject';
/** Comma-separated roles, each one the gateway knows (API_ROLES). */
export const AUTH_ROLE_HEADER = 'x-auth-role';

export interface ForwardedCaller {
  /** The token's subject; null when the request did not come through the gateway (a direct call, a test). */
  subject: string | null;
  roles: ApiRole[];
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The caller the gateway verified, read from its headers. Without them there is no subject and no role, so a
 * rule that needs a role refuses: missing headers never grant anything.
 */
export function forwardedCaller(headers: Record<string, string | string[] | undefined>): ForwardedCaller {
  const subject = single(headers[AUTH_SUBJECT_HEADER])?.trim();
  const roles = (single(headers[AUTH_ROLE_HEADER]) ?? '')
    .split(',')
    .map((role) => role.trim())
    .filter((role): role is ApiRole => (API_ROLES as readonly string[]).includes(role));
  return { subject: subject ? subject : null, roles: [...new Set(roles)] };
}
