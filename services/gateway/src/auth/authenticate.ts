import type { FastifyRequest } from 'fastify';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '@onboarding/service-kit';
import { DEV_JWT_SECRET } from '../config';
import { isRole, type Role } from './roles';
import type { CheckOutcome } from './credential-checks';
import type { SessionCookies } from './session-cookie';
import type { VerifiedTokenCache } from './verified-token-cache';

export interface Caller {
  subject: string;
  roles: Role[];
}

/** What a verified token proves: who calls, and until when (its `exp`, seconds since the epoch, when it has one). */
export interface VerifiedToken {
  caller: Caller;
  expiresAt: number | undefined;
}

export interface TokenVerifier {
  /** The token's caller; rejects (with jose's error) a token that is forged, foreign, expired or malformed. */
  verify(token: string): Promise<VerifiedToken>;
}

export function callerFromClaims(payload: JWTPayload): Caller {
  // B2C puts application roles in `roles` (or a custom `extension_*_Role` mapped to `role`).
  const claimed = Array.isArray(payload.roles) ? payload.roles : [payload.role];
  return { subject: String(payload.sub ?? 'anonymous'), roles: claimed.filter(isRole) };
}

function verifiedToken(payload: JWTPayload): VerifiedToken {
  return { caller: callerFromClaims(payload), expiresAt: payload.exp };
}

/**
 * A verifier that remembers the tokens it verified (VerifiedTokenCache: bounded, never past a token's `exp` nor the
 * TTL), so a client sending the same token with every request costs one signature check per TTL. A refused token is
 * never remembered: it is checked again each time. `count` learns each outcome, never the token.
 */
export function cachingVerifier(
  verifier: TokenVerifier,
  cache: VerifiedTokenCache<VerifiedToken>,
  count: (outcome: CheckOutcome) => void = () => undefined,
): TokenVerifier {
  return {
    async verify(token) {
      const cached = cache.get(token);
      if (cached) {
        count('cached');
        return cached;
      }
      let verified: VerifiedToken;
      try {
        verified = await verifier.verify(token);
      } catch (err) {
        count('refused');
        throw err;
      }
      count('verified');
      // Frozen all the way down: a hit hands out this very object, so no request can change what the next one sees.
      Object.freeze(verified.caller.roles);
      Object.freeze(verified.caller);
      cache.set(token, verified, verified.expiresAt);
      return verified;
    },
  };
}

/** Verifies bearer tokens signed with the configured secret (HS256), checking issuer, audience and expiry. */
export function sharedSecretVerifier(secret: string, issuer: string, audience: string): TokenVerifier {
  // The config rules already refuse it; this holds for a config built any other way too (a test, a script).
  if (process.env.NODE_ENV === 'production' && secret.trim() === DEV_JWT_SECRET) {
    throw new Error('JWT_SECRET: the development secret from the repository is never accepted in production');
  }
  const key = new TextEncoder().encode(secret);
  return {
    async verify(token) {
      const { payload } = await jwtVerify(token, key, { issuer, audience, algorithms: ['HS256'] });
      return verifiedToken(payload);
    },
  };
}

/**
 * Verifies tokens issued by an identity provider (an Azure AD B2C tenant) against its published keys,
 * fetched from the JWKS URL and cached (refetched when a token names an unknown key).
 */
export function jwksVerifier(jwksUrl: string, issuer: string, audience: string): TokenVerifier {
  const keys = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5_000 });
  return {
    async verify(token) {
      const { payload } = await jwtVerify(token, keys, { issuer, audience, algorithms: ['RS256', 'ES256'] });
      return verifiedToken(payload);
    },
  };
}

function unauthorized(detail: string): AppError {
  return new AppError({ status: 401, code: 'unauthorized', title: 'Unauthorized', detail });
}

/** Reads and verifies the bearer token; 401 problem+json when it is missing, malformed, forged or expired. */
export async function authenticate(request: FastifyRequest, verifier: TokenVerifier): Promise<Caller> {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+([A-Za-z0-9\-_.]+)$/i.exec(header) : null;
  if (!match?.[1]) throw unauthorized('A bearer token is required (Authorization: Bearer <token>)');
  try {
    return (await verifier.verify(match[1])).caller;
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw unauthorized('The token has expired');
    throw unauthorized('The token is not valid');
  }
}

/** What the gateway learnt from a request's credentials: the verified caller, or why there is none. */
export type Authentication = { caller: Caller } | { failure: AppError };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for every request as it arrives (identifyCallers), before the rate limit, which keys on it. */
    authentication?: Authentication;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A cookie is sent by the browser whoever made the page that asks, so a change made with a session cookie must come
 * from the console itself: its Origin (which browsers send with every POST, PATCH and DELETE and which a page cannot
 * forge) must be the gateway's own host. A bearer token needs no such check: no other site can make a browser send it.
 */
export function requireSameOrigin(request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  let host: string | undefined;
  try {
    host = origin ? new URL(origin).host : undefined;
  } catch {
    host = undefined;
  }
  if (!host || host !== request.headers.host) {
    throw new AppError({
      status: 403,
      code: 'cross-site-request',
      title: 'Cross-site request refused',
      detail: 'A change made with a console session must come from the console (same Origin)',
    });
  }
}

/**
 * The caller of a request: its bearer token when it sends one, else its console session cookie (the gateway
 * accepts either wherever it accepts the other), checked for a same-origin request when it changes something.
 */
export async function authenticateAny(request: FastifyRequest, verifier: TokenVerifier, sessions?: SessionCookies): Promise<Caller> {
  if (request.headers.authorization === undefined && sessions?.carries(request)) {
    const session = await sessions.read(request);
    requireSameOrigin(request);
    return { subject: session.subject, roles: session.roles };
  }
  return authenticate(request, verifier);
}

/** Like authenticateAny, but a missing or invalid credential is an outcome to act on later, not an error yet. */
export async function identify(request: FastifyRequest, verifier: TokenVerifier, sessions?: SessionCookies): Promise<Authentication> {
  try {
    return { caller: await authenticateAny(request, verifier, sessions) };
  } catch (err) {
    if (err instanceof AppError) return { failure: err };
    throw err;
  }
}

/** The verified caller of a request; throws the 401 its credentials earned when there is none. */
export async function callerOf(request: FastifyRequest, verifier: TokenVerifier, sessions?: SessionCookies): Promise<Caller> {
  const authentication = request.authentication ?? (await identify(request, verifier, sessions));
  if ('failure' in authentication) throw authentication.failure;
  return authentication.caller;
}

export function requireRole(caller: Caller, allowed: readonly Role[]): void {
  if (!caller.roles.some((role) => allowed.includes(role))) {
    throw new AppError({
      status: 403,
      code: 'forbidden',
      title: 'Forbidden',
      detail: `This route needs one of the roles: ${allowed.join(', ')}`,
    });
  }
}
