import type { FastifyRequest } from 'fastify';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '@onboarding/service-kit';
import { DEV_JWT_SECRET } from '../config';
import { isRole, type Role } from './roles';

export interface Caller {
  subject: string;
  roles: Role[];
}

export interface TokenVerifier {
  verify(token: string): Promise<Caller>;
}

function callerFromClaims(payload: JWTPayload): Caller {
  // B2C puts application roles in `roles` (or a custom `extension_*_Role` mapped to `role`).
  const claimed = Array.isArray(payload.roles) ? payload.roles : [payload.role];
  return { subject: String(payload.sub ?? 'anonymous'), roles: claimed.filter(isRole) };
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
      return callerFromClaims(payload);
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
      return callerFromClaims(payload);
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
    return await verifier.verify(match[1]);
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

/** Like authenticate, but a missing or invalid token is an outcome to act on later, not an error yet. */
export async function identify(request: FastifyRequest, verifier: TokenVerifier): Promise<Authentication> {
  try {
    return { caller: await authenticate(request, verifier) };
  } catch (err) {
    if (err instanceof AppError) return { failure: err };
    throw err;
  }
}

/** The verified caller of a request; throws the 401 its credentials earned when there is none. */
export async function callerOf(request: FastifyRequest, verifier: TokenVerifier): Promise<Caller> {
  const authentication = request.authentication ?? (await identify(request, verifier));
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
