import type { FastifyReply, FastifyRequest } from 'fastify';
import { SignJWT, errors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '@onboarding/service-kit';
import type { CheckOutcome } from './credential-checks';
import { isRole, type Role } from './roles';
import type { VerifiedTokenCache } from './verified-token-cache';

/**
 * The console's session: a cookie holding a JWT the gateway signed itself (HS256, SESSION_SECRET) with the verified
 * subject, roles and expiry. Stateless, so any gateway replica accepts what another issued; it holds no personal
 * data (a subject is a directory object id or `dev-admin`), so it is signed, not encrypted. `__Host-` makes the
 * browser refuse it unless it is Secure, for path `/` and without a Domain, so no sibling host can plant one.
 */
export const SESSION_COOKIE = '__Host-console-session';

/** The short-lived cookie that carries an OIDC sign-in's state, nonce and PKCE verifier from login to callback. */
export const SIGN_IN_COOKIE = '__Host-console-sign-in';

const SESSION_ISSUER = 'onboarding-gateway';
const SESSION_AUDIENCE = 'onboarding-console-session';
const SIGN_IN_AUDIENCE = 'onboarding-console-sign-in';
const SIGN_IN_TTL_SECONDS = 600;

/** Who a session is for: the same shape as authenticate's Caller, which accepts it wherever it accepts a token. */
export interface Session {
  subject: string;
  roles: Role[];
  /** When the session ends (seconds since the epoch). */
  expiresAt: number;
}

/** What an OIDC sign-in remembers between the redirect to the provider and its callback. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
}

function unauthorized(detail: string): AppError {
  return new AppError({ status: 401, code: 'unauthorized', title: 'Unauthorized', detail });
}

/** Reads one cookie from the Cookie header (@fastify/cookie parses it onto request.cookies). */
function cookieOf(request: FastifyRequest, name: string): string | undefined {
  return request.cookies?.[name];
}

/** What reading sessions may remember (see VerifiedTokenCache) and tell (CredentialChecks); by default neither. */
export interface SessionReading {
  cache?: VerifiedTokenCache<Session>;
  count?: (outcome: CheckOutcome) => void;
}

export class SessionCookies {
  private readonly key: Uint8Array;
  private readonly cache?: VerifiedTokenCache<Session>;
  private readonly count: (outcome: CheckOutcome) => void;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    reading: SessionReading = {},
  ) {
    this.key = new TextEncoder().encode(secret);
    this.cache = reading.cache;
    this.count = reading.count ?? (() => undefined);
  }

  /** Signs a session for the caller and sets it: HttpOnly (no script reads it), Secure, SameSite=Strict. */
  async issue(reply: FastifyReply, caller: Omit<Session, 'expiresAt'>): Promise<Session> {
    const expiresAt = Math.floor(Date.now() / 1000) + this.ttlSeconds;
    const token = await new SignJWT({ roles: caller.roles })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(caller.subject)
      .setIssuer(SESSION_ISSUER)
      .setAudience(SESSION_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(this.key);
    reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, secure: true, sameSite: 'strict', maxAge: this.ttlSeconds });
    return { ...caller, expiresAt };
  }

  clear(reply: FastifyReply): void {
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'strict' });
  }

  /** True when the request carries a session cookie at all (valid or not). */
  carries(request: FastifyRequest): boolean {
    return cookieOf(request, SESSION_COOKIE) !== undefined;
  }

  /**
   * The session the request's cookie proves; 401 for a tampered, foreign or expired one. The console sends the same
   * cookie with each of its requests, so a verified one is remembered until its expiry or the cache's TTL.
   */
  async read(request: FastifyRequest): Promise<Session> {
    const token = cookieOf(request, SESSION_COOKIE);
    if (!token) throw unauthorized('No console session');
    const cached = this.cache?.get(token);
    if (cached) {
      this.count('cached');
      return cached;
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { issuer: SESSION_ISSUER, audience: SESSION_AUDIENCE, algorithms: ['HS256'] }));
    } catch (err) {
      this.count('refused');
      if (err instanceof errors.JWTExpired) throw unauthorized('The session has expired; sign in again');
      throw unauthorized('The session is not valid; sign in again');
    }
    this.count('verified');
    const roles = Array.isArray(payload.roles) ? payload.roles.filter(isRole) : [];
    // Frozen: a cache hit hands out this very object.
    const session: Session = Object.freeze({ subject: String(payload.sub), roles: Object.freeze(roles) as Role[], expiresAt: payload.exp ?? 0 });
    this.cache?.set(token, session, payload.exp);
    return session;
  }

  /**
   * Remembers an OIDC sign-in in progress. SameSite=Lax, not Strict: the provider's redirect back to the callback
   * is a cross-site navigation, on which a Strict cookie would not be sent.
   */
  async rememberSignIn(reply: FastifyReply, pending: PendingSignIn): Promise<void> {
    const token = await new SignJWT({ ...pending })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(SESSION_ISSUER)
      .setAudience(SIGN_IN_AUDIENCE)
      .setExpirationTime(`${SIGN_IN_TTL_SECONDS}s`)
      .sign(this.key);
    reply.setCookie(SIGN_IN_COOKIE, token, { path: '/', httpOnly: true, secure: true, sameSite: 'lax', maxAge: SIGN_IN_TTL_SECONDS });
  }

  /** The sign-in in progress, which can be used once (the cookie is cleared); 400 when there is none or it is forged. */
  async takeSignIn(request: FastifyRequest, reply: FastifyReply): Promise<PendingSignIn> {
    const token = cookieOf(request, SIGN_IN_COOKIE);
    reply.clearCookie(SIGN_IN_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'lax' });
    const refused = new AppError({
      status: 400,
      code: 'sign-in-not-started',
      title: 'No sign-in in progress',
      detail: 'The sign-in expired or was started in another browser; start again',
    });
    if (!token) throw refused;
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: SESSION_ISSUER, audience: SIGN_IN_AUDIENCE, algorithms: ['HS256'] });
      const { state, nonce, codeVerifier } = payload;
      if (typeof state !== 'string' || typeof nonce !== 'string' || typeof codeVerifier !== 'string') throw refused;
      return { state, nonce, codeVerifier };
    } catch {
      throw refused;
    }
  }
}
