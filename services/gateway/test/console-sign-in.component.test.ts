import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { OAuth2Server } from 'oauth2-mock-server';
import { freePort } from '@onboarding/test-infra';
import { DEV_SESSION_SECRET, gatewayService } from '../src';

/**
 * The console's sign-in against an OpenID Connect provider (oauth2-mock-server: discovery, JWKS, authorization code
 * with PKCE checked, ID tokens with the nonce): the gateway redirects, the callback sets the session cookie, and the
 * API accepts that cookie as it accepts a bearer token; a tampered or expired one is refused, and so is a change
 * made with it from another site.
 */
const provider = new OAuth2Server();
let upstream: FastifyInstance;
let port: number;

let gateway: Awaited<ReturnType<typeof gatewayService.start>> & { baseUrl: string };

beforeAll(async () => {
  await provider.issuer.keys.generate('RS256');
  await provider.start(0, '127.0.0.1');
  // The provider's ID tokens carry the roles a B2C user flow puts in its `roles` claim.
  provider.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
    token.payload.sub = 'oidc-admin-object-id';
    token.payload.roles = ['admin'];
  });
  upstream = Fastify();
  upstream.get('/readyz', async () => ({ status: 'ready' }));
  upstream.all('/*', async (request) => ({
    caller: request.headers['x-auth-subject'],
    role: request.headers['x-auth-role'],
    cookie: request.headers.cookie ?? null,
  }));
  const upstreamUrl = await upstream.listen({ host: '127.0.0.1', port: 0 });
  // The callback URL is registered before the gateway starts, so the port is chosen first.
  port = await freePort();
  const running = await gatewayService.start(
    gatewayService.loadConfig({
      PORT: String(port),
      LOG_LEVEL: 'silent',
      DRIVER_URL: upstreamUrl,
      IDENTITY_URL: upstreamUrl,
      MAILER_URL: upstreamUrl,
      NOTIFICATION_URL: upstreamUrl,
      OIDC_ISSUER_URL: provider.issuer.url!,
      OIDC_CLIENT_ID: 'console',
      OIDC_REDIRECT_URL: `http://127.0.0.1:${port}/admin/auth/callback`,
    }),
  );
  gateway = Object.assign(running, { baseUrl: running.url });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
  await provider.stop();
});

/** The cookies a response sets, as name → the whole Set-Cookie line. */
function setCookies(response: Response): Map<string, string> {
  return new Map(response.headers.getSetCookie().map((line) => [line.slice(0, line.indexOf('=')), line]));
}
const cookiePair = (line: string) => line.slice(0, line.indexOf(';'));

async function signInThroughProvider(): Promise<string> {
  const login = await fetch(`${gateway.baseUrl}/admin/auth/login`, { redirect: 'manual' });
  expect(login.status).toBe(302);
  const authorize = new URL(login.headers.get('location')!);
  expect(authorize.origin).toBe(new URL(provider.issuer.url!).origin);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('state')).toBeTruthy();
  expect(authorize.searchParams.get('nonce')).toBeTruthy();
  const pending = setCookies(login).get('__Host-console-sign-in')!;
  expect(pending).toMatch(/HttpOnly/i);
  expect(pending).toMatch(/Secure/i);
  expect(pending).toMatch(/SameSite=Lax/i);

  const provided = await fetch(authorize, { redirect: 'manual' });
  const callback = new URL(provided.headers.get('location')!);
  expect(callback.pathname).toBe('/admin/auth/callback');
  const done = await fetch(callback, { redirect: 'manual', headers: { cookie: cookiePair(pending) } });
  expect(done.status).toBe(302);
  expect(done.headers.get('location')).toBe('/admin/');
  const session = setCookies(done).get('__Host-console-session')!;
  expect(session).toMatch(/HttpOnly/i);
  expect(session).toMatch(/Secure/i);
  expect(session).toMatch(/SameSite=Strict/i);
  expect(session).toMatch(/Path=\//);
  return cookiePair(session);
}

describe('console sign-in with OpenID Connect (authorization code + PKCE)', () => {
  it('ends in a session cookie the API accepts like a bearer token, and not forwarded upstream', async () => {
    const cookie = await signInThroughProvider();
    const who = await fetch(`${gateway.baseUrl}/admin/auth/session`, { headers: { cookie } });
    expect(await who.json()).toMatchObject({ session: { subject: 'oidc-admin-object-id', roles: ['admin'] }, oidcSignIn: true, devSignIn: true });

    const read = await fetch(`${gateway.baseUrl}/v1/notifications`, { headers: { cookie } });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ caller: 'oidc-admin-object-id', role: 'admin', cookie: null });

    // Changes: the console's own origin passes, another site's (or none) is refused.
    const change = (origin?: string) =>
      fetch(`${gateway.baseUrl}/v1/drivers`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        body: '{}',
      });
    expect((await change(`http://127.0.0.1:${port}`)).status).toBe(200);
    expect((await change('https://attacker.example')).status).toBe(403);
    expect((await change()).status).toBe(403);

    const signOut = await fetch(`${gateway.baseUrl}/admin/auth/sign-out`, {
      method: 'POST',
      headers: { cookie, origin: `http://127.0.0.1:${port}` },
    });
    expect(signOut.status).toBe(204);
    expect(setCookies(signOut).get('__Host-console-session')).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/i);
  });

  it('refuses a tampered, a forged and an expired session cookie with 401', async () => {
    const cookie = await signInThroughProvider();
    const value = cookie.slice(cookie.indexOf('=') + 1);
    const [header, payload, signature] = value.split('.');
    const promoted = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'someone-else' })).toString(
      'base64url',
    );
    const key = new TextEncoder().encode(DEV_SESSION_SECRET);
    const sign = (expiresAt: number, secret = key) =>
      new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('x')
        .setIssuer('onboarding-gateway')
        .setAudience('onboarding-console-session')
        .setExpirationTime(expiresAt)
        .sign(secret);
    const now = Math.floor(Date.now() / 1000);
    for (const bad of [
      `${header}.${promoted}.${signature}`,
      `${value.slice(0, -2)}xx`,
      await sign(now + 600, new TextEncoder().encode('another-secret-that-is-long-enough-for-hs256')),
      await sign(now - 10),
    ]) {
      const response = await fetch(`${gateway.baseUrl}/v1/drivers`, { headers: { cookie: `__Host-console-session=${bad}` } });
      expect(response.status).toBe(401);
    }
    // The control: a session signed with the right key and a future expiry passes.
    expect((await fetch(`${gateway.baseUrl}/v1/drivers`, { headers: { cookie: `__Host-console-session=${await sign(now + 600)}` } })).status).toBe(
      200,
    );
  });

  it('verifies a session cookie once while it is valid, and a refused one every time', async () => {
    const checks = async () => {
      const text = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
      const count = (outcome: string) =>
        Number(
          new RegExp(`^gateway_credential_checks_total\\{[^}]*credential="session"[^}]*outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ??
            0,
        );
      return { verified: count('verified'), cached: count('cached'), refused: count('refused') };
    };
    const signIn = await fetch(`${gateway.baseUrl}/admin/auth/dev-sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${port}` },
      body: JSON.stringify({ role: 'admin' }),
    });
    const cookie = cookiePair(setCookies(signIn).get('__Host-console-session')!);
    const before = await checks();
    for (let use = 0; use < 3; use += 1) {
      const read = await fetch(`${gateway.baseUrl}/v1/notifications`, { headers: { cookie } });
      expect(await read.json()).toEqual({ caller: 'dev-admin', role: 'admin', cookie: null });
    }
    const after = await checks();
    expect({ verified: after.verified - before.verified, cached: after.cached - before.cached, refused: after.refused - before.refused }).toEqual({
      verified: 1,
      cached: 2,
      refused: 0,
    });
    const tampered = `${cookie.slice(0, -2)}xx`;
    for (let use = 0; use < 2; use += 1) expect((await fetch(`${gateway.baseUrl}/v1/drivers`, { headers: { cookie: tampered } })).status).toBe(401);
    const last = await checks();
    expect({ verified: last.verified - after.verified, cached: last.cached - after.cached, refused: last.refused - after.refused }).toEqual({
      verified: 0,
      cached: 0,
      refused: 2,
    });
  });

  it('refuses a callback without the sign-in it belongs to, or with another state', async () => {
    const login = await fetch(`${gateway.baseUrl}/admin/auth/login`, { redirect: 'manual' });
    const pending = cookiePair(setCookies(login).get('__Host-console-sign-in')!);
    const provided = await fetch(login.headers.get('location')!, { redirect: 'manual' });
    const callback = new URL(provided.headers.get('location')!);
    expect((await fetch(callback, { redirect: 'manual' })).status).toBe(400);
    callback.searchParams.set('state', 'not-the-state');
    expect((await fetch(callback, { redirect: 'manual', headers: { cookie: pending } })).status).toBe(401);
  });

  it('offers the development sign-in outside production, for changes from its own origin only', async () => {
    const signIn = (origin?: string) =>
      fetch(`${gateway.baseUrl}/admin/auth/dev-sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        body: JSON.stringify({ role: 'dispatcher' }),
      });
    expect((await signIn('https://attacker.example')).status).toBe(403);
    const response = await signIn(`http://127.0.0.1:${port}`);
    expect(response.status).toBe(200);
    const cookie = cookiePair(setCookies(response).get('__Host-console-session')!);
    expect((await fetch(`${gateway.baseUrl}/v1/notifications`, { headers: { cookie } })).status).toBe(403);
    expect((await fetch(`${gateway.baseUrl}/v1/drivers`, { headers: { cookie } })).status).toBe(200);
  });
});
