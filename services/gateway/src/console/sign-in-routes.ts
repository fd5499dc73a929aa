import type { FastifyInstance } from 'fastify';
import { Issuer, generators, type BaseClient } from 'openid-client';
import { Type, type Static } from '@sinclair/typebox';
import { AppError } from '@onboarding/service-kit';
import { callerFromClaims, requireSameOrigin, type Caller } from '../auth/authenticate';
import { isRole } from '../auth/roles';
import type { SessionCookies } from '../auth/session-cookie';

/** The OpenID Connect client the console signs in with (production: the Azure AD B2C tenant's user flow). */
export interface OidcSettings {
  issuerUrl: string;
  clientId: string;
  /** Absent for a public client, which proves itself by PKCE alone. */
  clientSecret?: string;
  /** The gateway's `/admin/auth/callback` as the browser reaches it (registered with the provider). */
  redirectUrl: string;
}

export interface SignInRoutesOptions {
  sessions: SessionCookies;
  oidc?: OidcSettings;
  /** The development sign-in (a button per role, no password): only ever true outside production. */
  devSignIn: boolean;
}

const DevSignInBody = Type.Object({ role: Type.Union([Type.Literal('admin'), Type.Literal('dispatcher')]) }, { additionalProperties: false });
type DevSignInBody = Static<typeof DevSignInBody>;

/**
 * The provider's metadata is fetched on the first sign-in, not at start: the gateway serves the API whether or not
 * the provider answers, and a failed discovery is tried again on the next sign-in.
 */
function lazyClient(settings: OidcSettings): () => Promise<BaseClient> {
  let client: Promise<BaseClient> | undefined;
  return () => {
    client ??= Issuer.discover(settings.issuerUrl).then(
      (issuer) =>
        new issuer.Client({
          client_id: settings.clientId,
          ...(settings.clientSecret ? { client_secret: settings.clientSecret } : {}),
          redirect_uris: [settings.redirectUrl],
          response_types: ['code'],
          token_endpoint_auth_method: settings.clientSecret ? 'client_secret_basic' : 'none',
        }),
    );
    client.catch(() => (client = undefined));
    return client;
  };
}

function sessionView(caller: Caller & { expiresAt: number }) {
  return { subject: caller.subject, roles: caller.roles, expiresAt: new Date(caller.expiresAt * 1000).toISOString() };
}

/**
 * The console's sign-in under /admin/auth: who is signed in, the OIDC authorization code flow with PKCE, state and
 * nonce (openid-client checks the code exchange and the ID token), the development sign-in outside production, and
 * sign-out. Every path ends in the session cookie that the API accepts as it accepts a bearer token.
 */
export async function signInRoutes(app: FastifyInstance, options: SignInRoutesOptions): Promise<void> {
  const { sessions } = options;

  app.get('/admin/auth/session', async (request) => {
    let session = null;
    if (sessions.carries(request)) {
      try {
        session = sessionView(await sessions.read(request));
      } catch {
        session = null;
      }
    }
    return { session, devSignIn: options.devSignIn, oidcSignIn: options.oidc !== undefined };
  });

  app.post('/admin/auth/sign-out', async (request, reply) => {
    requireSameOrigin(request);
    sessions.clear(reply);
    return reply.status(204).send();
  });

  if (options.devSignIn) {
    app.post<{ Body: DevSignInBody }>('/admin/auth/dev-sign-in', { schema: { body: DevSignInBody } }, async (request, reply) => {
      requireSameOrigin(request);
      const session = await sessions.issue(reply, { subject: `dev-${request.body.role}`, roles: [request.body.role] });
      return sessionView(session);
    });
  }

  const oidc = options.oidc;
  if (oidc) {
    const client = lazyClient(oidc);
    const unavailable = (err: unknown) =>
      new AppError({
        status: 502,
        code: 'identity-provider-unavailable',
        title: 'Identity provider unavailable',
        detail: 'The sign-in provider did not answer; try again',
        cause: err,
      });

    app.get('/admin/auth/login', async (_request, reply) => {
      const oidcClient = await client().catch((err: unknown) => {
        throw unavailable(err);
      });
      const pending = { state: generators.state(), nonce: generators.nonce(), codeVerifier: generators.codeVerifier() };
      await sessions.rememberSignIn(reply, pending);
      const url = oidcClient.authorizationUrl({
        scope: 'openid',
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: generators.codeChallenge(pending.codeVerifier),
        code_challenge_method: 'S256',
      });
      return reply.redirect(url, 302);
    });

    app.get('/admin/auth/callback', async (request, reply) => {
      const pending = await sessions.takeSignIn(request, reply);
      const oidcClient = await client().catch((err: unknown) => {
        throw unavailable(err);
      });
      let caller: Caller;
      try {
        const tokens = await oidcClient.callback(oidc.redirectUrl, oidcClient.callbackParams(request.raw), {
          state: pending.state,
          nonce: pending.nonce,
          code_verifier: pending.codeVerifier,
        });
        caller = callerFromClaims(tokens.claims());
      } catch (err) {
        throw new AppError({
          status: 401,
          code: 'sign-in-failed',
          title: 'Sign-in failed',
          detail: 'The provider refused the sign-in, or its answer did not check out',
          cause: err,
        });
      }
      if (!caller.roles.some(isRole)) {
        throw new AppError({
          status: 403,
          code: 'forbidden',
          title: 'Forbidden',
          detail: 'Your account has neither the admin nor the dispatcher role',
        });
      }
      await sessions.issue(reply, caller);
      return reply.redirect('/admin/', 302);
    });
  }
}
