import { request as httpRequest } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { INTERNAL_PARKED_PATHS, RegisterDriverBody } from '@onboarding/contracts';
import { componentUnderTest, eventually, freePort } from '@onboarding/test-infra';
import { gatewayService, loadGatewayConfig, signDevToken } from '../src';

/** A real HTTP server standing in for one upstream service; it echoes what reached it. */
async function startUpstream(name: string): Promise<{ server: FastifyInstance; url: string }> {
  const server = Fastify();
  server.get('/readyz', async () => ({ status: 'ready' }));
  server.all('/*', async (request, reply) =>
    reply.status(request.method === 'POST' ? 202 : 200).send({
      upstream: name,
      method: request.method,
      url: request.url,
      body: request.body ?? null,
      requestId: request.headers['x-request-id'],
      caller: request.headers['x-auth-subject'],
      role: request.headers['x-auth-role'],
      authorization: request.headers.authorization ?? null,
      contentType: request.headers['content-type'] ?? null,
      contentLength: request.headers['content-length'] ?? null,
      transferEncoding: request.headers['transfer-encoding'] ?? null,
    }),
  );
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, url };
}

type CheckCounts = Record<'verified' | 'cached' | 'refused', number>;

/** The gateway's credential checks of one kind so far, by outcome, as its /metrics counts them. */
async function credentialChecks(gatewayUrl: string, credential: 'bearer' | 'session'): Promise<CheckCounts> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const counts: CheckCounts = { verified: 0, cached: 0, refused: 0 };
  for (const line of text.split('\n')) {
    const match = /^gateway_credential_checks_total\{([^}]*)\} (\d+)$/.exec(line);
    if (!match?.[1]?.includes(`credential="${credential}"`)) continue;
    const outcome = /outcome="(\w+)"/.exec(match[1])?.[1];
    if (outcome === 'verified' || outcome === 'cached' || outcome === 'refused') counts[outcome] = Number(match[2]);
  }
  return counts;
}

/** What changed between two counts. */
const countsSince = (before: CheckCounts, after: CheckCounts): CheckCounts => ({
  verified: after.verified - before.verified,
  cached: after.cached - before.cached,
  refused: after.refused - before.refused,
});

/**
 * A POST whose JSON body goes in chunks without a content-length (transfer-encoding: chunked), `gapMs` apart: a
 * body still arriving when the gateway calls the upstream.
 */
function postChunked(url: string, token: string, chunks: string[], gapMs = 0): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      url,
      { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    void (async () => {
      for (const chunk of chunks) {
        outgoing.write(chunk);
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
      outgoing.end();
    })();
  });
}

const upstreams: Record<string, { server: FastifyInstance; url: string }> = {};
const gateway = componentUnderTest(gatewayService, {
  isolated: false,
  env: async () => {
    for (const name of ['driver', 'identity', 'mailer', 'operations']) upstreams[name] = await startUpstream(name);
    return {
      DRIVER_URL: upstreams.driver!.url,
      IDENTITY_URL: upstreams.identity!.url,
      MAILER_URL: upstreams.mailer!.url,
      NOTIFICATION_URL: 'http://127.0.0.1:9', // nothing listens there: an upstream that is down
      OPERATIONS_URL: upstreams.operations!.url,
      UPSTREAM_TIMEOUT_MS: '2000',
      RATE_LIMIT_MAX: '40',
      UPSTREAM_BREAKER_RESET_MS: '60000',
    };
  },
});
afterAll(async () => {
  for (const upstream of Object.values(upstreams)) await upstream.server.close();
});

/** A second gateway in front of the same upstreams (every one up), for settings the shared one does not have. */
function secondGatewayEnv(): Record<string, string> {
  return {
    PORT: '0',
    LOG_LEVEL: 'silent',
    DRIVER_URL: upstreams.driver!.url,
    IDENTITY_URL: upstreams.identity!.url,
    MAILER_URL: upstreams.mailer!.url,
    NOTIFICATION_URL: upstreams.mailer!.url,
    OPERATIONS_URL: upstreams.operations!.url,
  };
}
// The token settings the gateway runs with: the defaults, as the environment above sets none of them.
const config = loadGatewayConfig({});

const token = (role: 'admin' | 'dispatcher') =>
  signDevToken({ secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, role });

async function call(path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  const response = await fetch(`${gateway.baseUrl}${path}`, { ...init, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('gateway', () => {
  it('proxies an authenticated request with its body, request id and caller, but not the token', async () => {
    const response = await call('/v1/drivers', {
      method: 'POST',
      token: await token('dispatcher'),
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-123' },
      body: JSON.stringify({ firstName: 'Ada' }),
    });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({
      upstream: 'driver',
      url: '/v1/drivers',
      body: { firstName: 'Ada' },
      requestId: 'req-123',
      caller: 'dev-dispatcher',
      role: 'dispatcher',
      authorization: null,
    });
    expect(response.headers.get('x-request-id')).toBe('req-123');
  });

  it("forwards only the caller it verified: a client's own x-auth-* headers are dropped", async () => {
    const response = await call('/v1/drivers', {
      token: await token('dispatcher'),
      headers: { 'x-auth-role': 'admin', 'x-auth-subject': 'dev-admin', 'x-auth-anything': 'else' },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ caller: 'dev-dispatcher', role: 'dispatcher' });
  });

  it('sends the security headers on every answer: proxied, problem, health and docs', async () => {
    const answers = [
      await call('/v1/drivers', { token: await token('admin') }),
      await call('/v1/drivers'), // 401
      await call('/healthz'),
      await call('/docs/json'),
    ];
    for (const { headers } of answers) {
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(headers.get('referrer-policy')).toBe('no-referrer');
      expect(headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
      expect(headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    }
    // The policy still lets Swagger UI load: its scripts come from the gateway itself.
    const ui = await fetch(`${gateway.baseUrl}/docs/static/index.html`);
    expect(ui.status).toBe(200);
    const scripts = [...(await ui.text()).matchAll(/<script[^>]*src="([^"]+)"/g)].map((match) => match[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) expect(src).not.toMatch(/^(https?:)?\/\//);
  });

  it('answers 401 problem+json without a token, with a forged one and with an expired one', async () => {
    const missing = await call('/v1/drivers');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    const forged = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(config.JWT_ISSUER)
      .setAudience(config.JWT_AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret-that-is-long-enough-for-hs256'));
    expect((await call('/v1/drivers', { token: forged })).status).toBe(401);
    const expired = await signDevToken({
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      role: 'admin',
      expiresIn: '-1m',
    });
    const expiredResponse = await call('/v1/drivers', { token: expired });
    expect(expiredResponse.status).toBe(401);
    expect(expiredResponse.body.detail).toBe('The token has expired');
  });

  it('answers 403 when a dispatcher asks for admin-only routes', async () => {
    const dispatcher = await token('dispatcher');
    expect((await call('/v1/identity/accounts/x', { token: dispatcher })).status).toBe(403);
    expect((await call('/v1/notifications', { token: dispatcher })).status).toBe(403);
    expect((await call('/v1/identity/accounts/x', { token: await token('admin') })).status).toBe(200);
  });

  it('answers 413 problem+json for a body over 1 MiB', async () => {
    const response = await call('/v1/drivers', {
      method: 'POST',
      token: await token('admin'),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ firstName: 'x'.repeat(1024 * 1024 + 10) }),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('answers 429 problem+json with Retry-After once a client exceeds its rate', async () => {
    const own = await signDevToken({
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      role: 'dispatcher',
      subject: 'busy-client',
    });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 45; i += 1) {
      const response = await call('/v1/drivers', { token: own });
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(40);
    expect(limited?.body).toMatchObject({ status: 429, type: '/problems/rate-limited' });
    expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await call('/v1/drivers', { token: await token('admin') })).status).toBe(200); // other clients unaffected
  });

  it('answers 502 problem+json while an upstream is down, and stays ready with that upstream shown down', async () => {
    const response = await call('/v1/notifications', { token: await token('admin') });
    expect(response.status).toBe(502);
    expect(response.body).toMatchObject({ type: '/problems/upstream-unavailable', status: 502 });
    const ready = await call('/readyz');
    expect(ready.status).toBe(200);
    // The mailer has no public route, so the gateway does not watch it.
    expect(ready.body).toMatchObject({
      status: 'degraded',
      checks: {},
      details: { driver: 'up', identity: 'up', notification: 'down', operations: 'up' },
    });
    expect(ready.body.details).not.toHaveProperty('mailer');
    expect((await call('/healthz')).status).toBe(200);
  });

  it('stays ready while an upstream that was up stops: its routes fail fast, the others are served', async () => {
    const notification = await startUpstream('notification');
    const watching = await gatewayService.start(
      gatewayService.loadConfig({ ...secondGatewayEnv(), NOTIFICATION_URL: notification.url, UPSTREAM_PROBE_INTERVAL_MS: '100' }),
    );
    const admin = await token('admin');
    const get = async (path: string) => {
      const response = await fetch(`${watching.url}${path}`, { headers: { authorization: `Bearer ${admin}` } });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    try {
      await eventually(async () => (await get('/readyz')).body.status === 'ready', { description: 'every upstream seen up' });
      expect((await get('/v1/notifications')).status).toBe(200);

      await notification.server.close();
      const ready = await eventually(
        async () => {
          const readiness = await get('/readyz');
          return (readiness.body.details as Record<string, string>).notification === 'down' ? readiness : undefined;
        },
        { description: 'the stopped upstream shown down' },
      );
      expect(ready).toMatchObject({ status: 200, body: { status: 'degraded', checks: {}, details: { driver: 'up', identity: 'up' } } });
      expect((await get('/healthz')).status).toBe(200);

      // Fail fast: refused connections answer 502 at once, then the open breaker answers 503 without calling.
      const statuses: number[] = [];
      for (let i = 0; i < 8; i += 1) statuses.push((await get('/v1/notifications')).status);
      expect(statuses.every((status) => status === 502 || status === 503)).toBe(true);
      expect(statuses.at(-1)).toBe(503);
      expect((await get('/v1/notifications')).body).toMatchObject({ type: '/problems/upstream-unavailable', status: 503 });
      expect(await get('/v1/drivers')).toMatchObject({ status: 200, body: { upstream: 'driver' } });
      expect(await get('/v1/identity/accounts/x')).toMatchObject({ status: 200, body: { upstream: 'identity' } });
      expect((await get('/readyz')).status).toBe(200);
    } finally {
      await watching.stop();
    }
  });

  it('opens the upstream breaker after repeated failures and answers 503 without calling', async () => {
    const admin = await token('admin');
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) statuses.push((await call('/v1/notifications', { token: admin })).status);
    // Failures are counted from the first 502 (earlier tests included); once open, every call is refused at once.
    const firstRefusal = statuses.indexOf(503);
    expect(firstRefusal).toBeGreaterThanOrEqual(0);
    expect(statuses.slice(0, firstRefusal).every((status) => status === 502)).toBe(true);
    expect(statuses.slice(firstRefusal).every((status) => status === 503)).toBe(true);
    const open = await call('/v1/notifications', { token: admin });
    expect(open.body).toMatchObject({ status: 503, type: '/problems/upstream-unavailable' });
    const ready = await call('/readyz');
    expect(ready.body.details).toMatchObject({ breakers: { notification: 'open', driver: 'closed' } });
  });

  it('serves one OpenAPI document built from the contract schemas, and Swagger UI', async () => {
    const document = (await call('/docs/json')).body as {
      openapi: string;
      paths: Record<string, { post: { requestBody: { content: { 'application/json': { schema: unknown } } } } }>;
      components: { schemas: Record<string, unknown> };
    };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/v1/drivers',
        '/v1/drivers/{id}',
        '/v1/drivers/{id}/events',
        '/v1/identity/accounts/{driverId}',
        '/v1/notifications',
        '/v1/notifications/stream',
        '/v1/notifications/{id}/read',
      ]),
    );
    const registerBody = document.paths['/v1/drivers']!.post.requestBody.content['application/json'].schema;
    expect(registerBody).toEqual({ $ref: '#/components/schemas/RegisterDriverBody' });
    expect(document.components.schemas.RegisterDriverBody).toEqual(JSON.parse(JSON.stringify(RegisterDriverBody)));
    const ui = await fetch(`${gateway.baseUrl}/docs`, { redirect: 'follow' });
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('answers 404 problem+json for routes it does not have', async () => {
    const response = await call('/v2/drivers', { token: await token('admin') });
    expect(response.status).toBe(404);
    expect(response.body.type).toBe('/problems/not-found');
  });

  it("never forwards the services' internal routes: /internal/parked… is 404 from the gateway, for any token and method", async () => {
    // The upstreams here answer every path they receive; a 404 problem from the gateway means nothing was forwarded.
    for (const path of Object.values(INTERNAL_PARKED_PATHS)) {
      for (const method of ['GET', 'POST'] as const) {
        const response = await call(path, {
          method,
          token: await token('admin'),
          ...(method === 'POST' ? { body: '{"dryRun":false}', headers: { 'content-type': 'application/json' } } : {}),
        });
        expect([method, path, response.status, response.body.upstream]).toEqual([method, path, 404, undefined]);
      }
    }
  });

  // Last in this block: it spends the allowance of this machine's address, which requests without a valid token share.
  it('limits a flood of junk tokens by address, not by token, while verified callers keep their own allowance', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 45; i += 1) statuses.push((await call('/v1/drivers', { token: `junk.token.${i}` })).status);
    expect(statuses).toContain(429);
    expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);
    expect(statuses.slice(statuses.indexOf(429)).every((status) => status === 429)).toBe(true);
    expect((await call('/v1/drivers', { token: await token('admin') })).status).toBe(200);
    expect((await call('/healthz')).status).toBe(200); // still exempt
  });
});

describe('gateway body forwarding', () => {
  // A subject of its own, so these calls do not spend the shared admin's rate allowance.
  const admin = () =>
    signDevToken({ secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, role: 'admin', subject: 'body-forwarding' });

  it('forwards a JSON body as one buffer with its content-length, a chunked one too', async () => {
    const sentBody = { firstName: 'Ada', lastName: 'Lovelace' };
    const body = JSON.stringify(sentBody);
    const sent = await call('/v1/drivers', { method: 'POST', token: await admin(), headers: { 'content-type': 'application/json' }, body });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ body: sentBody, contentLength: String(Buffer.byteLength(body)), transferEncoding: null });

    // Chunked by the client, and slowly: read whole, then sent on at once with the length it turned out to have.
    // Streamed, the upstream got it chunked as it trickled in (the proxy knew a length only for a body that had
    // already arrived whole).
    const chunks = ['{"firstName":', '"Grace",', '"lastName":"Hopper"}'];
    const chunked = await postChunked(`${gateway.baseUrl}/v1/drivers`, await admin(), chunks, 50);
    expect(chunked.status).toBe(202);
    expect(chunked.body).toMatchObject({
      body: { firstName: 'Grace', lastName: 'Hopper' },
      contentType: 'application/json',
      contentLength: String(Buffer.byteLength(chunks.join(''))),
      transferEncoding: null,
    });
  });

  it('keeps the body limit for a chunked JSON body, which carries no content-length to refuse up front', async () => {
    const half = 'x'.repeat(600 * 1024);
    const response = await postChunked(`${gateway.baseUrl}/v1/drivers`, await admin(), [`{"a":"${half}",`, `"b":"${half}"}`]);
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ status: 413 });
  });

  it('streams any other body through unchanged', async () => {
    const response = await call('/v1/drivers', {
      method: 'POST',
      token: await admin(),
      headers: { 'content-type': 'text/plain' },
      body: 'plain text',
    });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ body: 'plain text', contentType: 'text/plain' });
  });
});

describe('gateway verified-token cache', () => {
  // A gateway of its own: refused tokens are rate-limited by address, which the shared one's earlier tests spent.
  let cached: Awaited<ReturnType<typeof gatewayService.start>>;
  beforeAll(async () => {
    cached = await gatewayService.start(gatewayService.loadConfig(secondGatewayEnv()));
  });
  afterAll(async () => {
    await cached.stop();
  });
  const callCached = async (path: string, bearer: string) => {
    const response = await fetch(`${cached.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const ownToken = (subject: string, expiresIn = '1h') =>
    signDevToken({ secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, role: 'dispatcher', subject, expiresIn });

  it('verifies a token once: its second use is answered from the cache, with the same caller and role', async () => {
    const own = await ownToken(`cached-${Date.now()}`);
    const before = await credentialChecks(cached.url, 'bearer');
    const first = await callCached('/v1/drivers', own);
    const second = await callCached('/v1/drivers', own);
    expect(countsSince(before, await credentialChecks(cached.url, 'bearer'))).toEqual({ verified: 1, cached: 1, refused: 0 });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ caller: first.body.caller, role: 'dispatcher' });
    expect(first.body.caller).toMatch(/^cached-/);
  });

  it('never caches a refused token: a forged or tampered one is verified, and refused, every time', async () => {
    const subject = `tampered-${Date.now()}`;
    const genuine = await ownToken(subject);
    const [header, payload, signature] = genuine.split('.');
    const promoted = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), roles: ['admin'] })).toString(
      'base64url',
    );
    const forged = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(subject)
      .setIssuer(config.JWT_ISSUER)
      .setAudience(config.JWT_AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret-that-is-long-enough-for-hs256'));
    const before = await credentialChecks(cached.url, 'bearer');
    for (const refused of [forged, `${header}.${promoted}.${signature}`]) {
      for (let attempt = 0; attempt < 2; attempt += 1) expect((await callCached('/v1/identity/accounts/x', refused)).status).toBe(401);
    }
    expect(countsSince(before, await credentialChecks(cached.url, 'bearer'))).toEqual({ verified: 0, cached: 0, refused: 4 });
    // The genuine token was never verified before, so it is now; its role is still its own.
    expect((await callCached('/v1/identity/accounts/x', genuine)).status).toBe(403);
    expect(countsSince(before, await credentialChecks(cached.url, 'bearer'))).toEqual({ verified: 1, cached: 0, refused: 4 });
  });

  it('refuses an expired token even though it was cached while valid', async () => {
    const shortLived = await ownToken(`short-${Date.now()}`, '2s');
    const expiresAt = (JSON.parse(Buffer.from(shortLived.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
    const before = await credentialChecks(cached.url, 'bearer');
    expect((await callCached('/v1/drivers', shortLived)).status).toBe(200);
    expect((await callCached('/v1/drivers', shortLived)).status).toBe(200);
    expect(countsSince(before, await credentialChecks(cached.url, 'bearer'))).toEqual({ verified: 1, cached: 1, refused: 0 });

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt * 1000 - Date.now()) + 50));
    const expired = await callCached('/v1/drivers', shortLived);
    expect(expired.status).toBe(401);
    expect(expired.body.detail).toBe('The token has expired');
    expect(countsSince(before, await credentialChecks(cached.url, 'bearer'))).toEqual({ verified: 1, cached: 1, refused: 1 });
  });
});

describe('gateway with DOCS_ENABLED=false', () => {
  it('does not serve the OpenAPI document or Swagger UI', async () => {
    const withoutDocs = await gatewayService.start(
      gatewayService.loadConfig({
        ...secondGatewayEnv(),
        DOCS_ENABLED: 'false',
      }),
    );
    try {
      for (const path of ['/docs', '/docs/json', '/docs/static/index.html']) {
        const response = await fetch(`${withoutDocs.url}${path}`);
        expect(response.status).toBe(404);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      }
      expect((await fetch(`${withoutDocs.url}/healthz`)).status).toBe(200);
    } finally {
      await withoutDocs.stop();
    }
  });
});

describe('gateway streams', () => {
  it('proxies streams through a pool of their own: a full one answers 503, and requests to the same service still pass', async () => {
    // An upstream whose stream never ends, like the notification service's.
    const upstream = Fastify();
    upstream.get('/readyz', async () => ({ status: 'ready' }));
    upstream.get('/v1/notifications/stream', (_request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
      reply.raw.write(': connected\n\n');
    });
    upstream.get('/v1/notifications', async () => ({ items: [], nextCursor: null }));
    const url = await upstream.listen({ host: '127.0.0.1', port: 0 });
    const streaming = await gatewayService.start(
      gatewayService.loadConfig({ ...secondGatewayEnv(), NOTIFICATION_URL: url, STREAM_UPSTREAM_CONNECTIONS: '3', UPSTREAM_TIMEOUT_MS: '2000' }),
    );
    const admin = await token('admin');
    const controller = new AbortController();
    try {
      // More streams than the request pool's 128 connections, which streams used to share with every request to
      // the service, unbounded.
      const streams = await Promise.all(
        Array.from({ length: 130 }, () =>
          fetch(`${streaming.url}/v1/notifications/stream`, { headers: { authorization: `Bearer ${admin}` }, signal: controller.signal }).then(
            async (response) => {
              if (response.status !== 200) await response.text();
              return response.status;
            },
            () => 0,
          ),
        ),
      );
      expect(streams.filter((status) => status === 200)).toHaveLength(3);
      expect(streams.filter((status) => status === 503)).toHaveLength(127);
      const refused = await fetch(`${streaming.url}/v1/notifications/stream`, { headers: { authorization: `Bearer ${admin}` } });
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(((await refused.json()) as { type: string }).type).toBe('/problems/streams-exhausted');
      const list = await fetch(`${streaming.url}/v1/notifications`, {
        headers: { authorization: `Bearer ${admin}` },
        signal: AbortSignal.timeout(5_000),
      });
      expect(list.status).toBe(200);
      // Closing a stream frees its place.
      controller.abort();
      await eventually(
        async () => {
          const again = await fetch(`${streaming.url}/v1/notifications/stream`, {
            headers: { authorization: `Bearer ${admin}` },
            signal: AbortSignal.timeout(2_000),
          });
          await again.body?.cancel();
          return again.status === 200;
        },
        { description: 'a freed stream place' },
      );
    } finally {
      controller.abort();
      await streaming.stop();
      await upstream.close();
    }
  }, 30_000);
});

describe('gateway event streams', () => {
  it('passes the events of a stream on as they come, while the stream stays open', async () => {
    const upstream = Fastify({ forceCloseConnections: true });
    upstream.get('/readyz', async () => ({ status: 'ready' }));
    upstream.get('/v1/notifications/stream', (_request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
      reply.raw.write('data: first\n\n');
      setTimeout(() => reply.raw.write('data: second\n\n'), 300);
    });
    const url = await upstream.listen({ host: '127.0.0.1', port: 0 });
    const streaming = await gatewayService.start(gatewayService.loadConfig({ ...secondGatewayEnv(), NOTIFICATION_URL: url }));
    const controller = new AbortController();
    try {
      const response = await fetch(`${streaming.url}/v1/notifications/stream`, {
        headers: { authorization: `Bearer ${await token('admin')}` },
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let received = '';
      const deadline = Date.now() + 5_000;
      while (!received.includes('data: second') && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        received += value;
      }
      // Both events arrived and the stream has not ended: nothing waited for the end of the answer.
      expect(received).toBe('data: first\n\ndata: second\n\n');
    } finally {
      controller.abort();
      await streaming.stop();
      await upstream.close();
    }
  });
});

describe('gateway with a JWKS (production token verification)', () => {
  it('accepts tokens signed by a key the JWKS publishes, with the right issuer and audience, and nothing else', async () => {
    const published = await generateKeyPair('RS256');
    const stranger = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(published.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    const jwks = Fastify();
    jwks.get('/discovery/v2.0/keys', async () => ({ keys: [jwk] }));
    const jwksUrl = await jwks.listen({ host: '127.0.0.1', port: 0 });
    const issuer = 'https://fleet.b2clogin.com/tenant/v2.0/';
    const gatewayConfig = gatewayService.loadConfig({
      ...secondGatewayEnv(),
      JWT_JWKS_URL: `${jwksUrl}/discovery/v2.0/keys`,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: 'onboarding-api',
    });
    const withJwks = await gatewayService.start(gatewayConfig);
    const base = withJwks.url;
    const sign = (key: Parameters<SignJWT['sign']>[0], claims: { iss?: string; aud?: string } = {}) =>
      new SignJWT({ roles: ['dispatcher'] })
        .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
        .setSubject('b2c-user')
        .setIssuer(claims.iss ?? issuer)
        .setAudience(claims.aud ?? 'onboarding-api')
        .setExpirationTime('5m')
        .sign(key);
    const status = async (jwt: string) => (await fetch(`${base}/v1/drivers`, { headers: { authorization: `Bearer ${jwt}` } })).status;
    try {
      expect(await status(await sign(published.privateKey))).toBe(200);
      expect(await status(await sign(stranger.privateKey))).toBe(401);
      expect(await status(await sign(published.privateKey, { iss: 'https://evil.example/' }))).toBe(401);
      expect(await status(await sign(published.privateKey, { aud: 'another-api' }))).toBe(401);
    } finally {
      await withJwks.stop();
      await jwks.close();
    }
  });
});

/** The state of an upstream's breaker, as the gateway's `/readyz` shows it. */
async function breakerState(gatewayUrl: string, upstream: string): Promise<string | undefined> {
  const response = await fetch(`${gatewayUrl}/readyz`);
  const body = (await response.json()) as { details?: { breakers?: Record<string, string> } };
  return body.details?.breakers?.[upstream];
}

describe('gateway breakers count only upstream failures', () => {
  const RESET_MS = 400;
  /** Answers with the status the query asks for (`?answer=404`), or holds the request until it is abandoned. */
  const scripted = Fastify();
  const hits: Record<string, number> = {};
  scripted.all('/*', async (request, reply) => {
    const { answer = '200', key = 'any', retryAfter } = request.query as { answer?: string; key?: string; retryAfter?: string };
    hits[key] = (hits[key] ?? 0) + 1;
    if (retryAfter) void reply.header('retry-after', retryAfter);
    if (answer === 'hang') {
      reply.hijack();
      request.raw.once('close', () => reply.raw.destroy());
      return reply;
    }
    return reply.status(Number(answer)).send({ answered: answer });
  });
  let gateway: Awaited<ReturnType<typeof gatewayService.start>>;
  let admin: string;

  beforeAll(async () => {
    const url = await scripted.listen({ host: '127.0.0.1', port: 0 });
    gateway = await gatewayService.start(
      gatewayService.loadConfig({
        PORT: '0',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        DRIVER_URL: url,
        IDENTITY_URL: url,
        MAILER_URL: url,
        OPERATIONS_URL: url,
        NOTIFICATION_URL: `http://127.0.0.1:${await freePort()}`, // nothing listens there: connections are refused
        UPSTREAM_TIMEOUT_MS: '500',
        UPSTREAM_BREAKER_RESET_MS: String(RESET_MS),
      }),
    );
    admin = await token('admin');
  });
  afterAll(async () => {
    await gateway.stop();
    await scripted.close();
  });

  async function get(path: string, signal?: AbortSignal) {
    const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${admin}` }, signal });
    const body = (await response.json()) as { type?: string };
    return { status: response.status, type: body.type };
  }
  /** The gateway answered 503 itself, without calling the upstream: its breaker is open. */
  const refusedByBreaker = (answer: { status: number; type?: string }) => answer.status === 503 && answer.type === '/problems/upstream-unavailable';

  it('passes a flood of 4xx and 500 answers through without opening the breaker', async () => {
    // 500s first: were they counted, the breaker would open within the first few.
    const answers = [...Array<string>(20).fill('500'), ...['400', '404', '409', '422'].flatMap((status) => Array<string>(5).fill(status))];
    for (const answer of answers) expect((await get(`/v1/identity/accounts/x?answer=${answer}&key=flood`)).status).toBe(Number(answer));
    expect(hits.flood).toBe(answers.length);
    expect(await get('/v1/identity/accounts/x?key=after-flood')).toEqual({ status: 200, type: undefined });
  });

  it("passes an upstream's 503 with Retry-After through without counting it: the upstream sheds the load itself", async () => {
    for (let i = 0; i < 12; i += 1) {
      const response = await fetch(`${gateway.url}/v1/identity/accounts/x?answer=503&retryAfter=1&key=shedding`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      await response.text();
      expect({ status: response.status, retryAfter: response.headers.get('retry-after') }).toEqual({ status: 503, retryAfter: '1' });
    }
    expect(hits.shedding).toBe(12);
    expect(await get('/v1/identity/accounts/x?key=after-shedding')).toEqual({ status: 200, type: undefined });
  });

  it('opens on connection refusals, on timeouts, and on an upstream 503 to the half-open trial; then answers 503 without calling', async () => {
    const refused = [];
    for (let i = 0; i < 5; i += 1) refused.push((await get('/v1/notifications')).status);
    expect(refused).toEqual([502, 502, 502, 502, 502]);
    expect(refusedByBreaker(await get('/v1/notifications'))).toBe(true);

    const timedOut = await Promise.all(Array.from({ length: 5 }, () => get('/v1/drivers?answer=hang&key=slow')));
    expect(timedOut.map((answer) => answer.status)).toEqual([504, 504, 504, 504, 504]);
    expect(refusedByBreaker(await get('/v1/drivers?answer=hang&key=slow'))).toBe(true);
    expect(hits.slow).toBe(5);

    // Half-open after the reset time: the trial meets a 503, and the breaker opens again at once.
    await new Promise((resolve) => setTimeout(resolve, RESET_MS + 100));
    expect(await get('/v1/drivers?answer=503&key=down')).toEqual({ status: 503, type: undefined });
    expect(refusedByBreaker(await get('/v1/drivers?answer=503&key=down'))).toBe(true);
    expect(hits.down).toBe(1);
  });

  it('settles a half-open trial the client abandons: the next call goes through, and failures still reopen it', async () => {
    // The driver breaker was opened by the test above; once the reset time passes, the next call is the trial.
    await new Promise((resolve) => setTimeout(resolve, RESET_MS + 100));
    const client = new AbortController();
    const trial = get('/v1/drivers?answer=hang&key=trial', client.signal).catch((err: Error) => err.name);
    await eventually(() => hits.trial === 1, { timeoutMs: 2_000, description: 'the trial to reach the upstream' });
    client.abort();
    expect(await trial).toBe('AbortError');
    // Settled as no failure: closed, not reopened.
    const settled = await eventually(
      async () => {
        const state = await breakerState(gateway.url, 'driver');
        return state === 'half-open' ? undefined : state;
      },
      { timeoutMs: 2_000, description: 'the abandoned trial settled' },
    );
    expect(settled).toBe('closed');

    // Not stuck half-open: calls are admitted and counted, so upstream failures open the breaker again.
    const next = await eventually(async () => ((await get('/v1/drivers?key=after-trial')).status === 200 ? true : undefined), {
      timeoutMs: 2_000,
      description: 'a call through the settled breaker',
    });
    expect(next).toBe(true);
    const statuses = [];
    for (let i = 0; i < 8; i += 1) statuses.push(await get('/v1/drivers?answer=503&key=down-again'));
    expect(statuses.some(refusedByBreaker)).toBe(true);
    expect(hits['down-again']).toBeLessThan(8);
  });
});

describe('gateway breakers follow the upstream back', () => {
  /** An upstream that can be switched down (`/readyz` 503, every route 502) and up; its stream never ends. */
  const upstream = Fastify({ forceCloseConnections: true }); // close() ends the streams it still holds
  let down = false;
  upstream.get('/readyz', async (_request, reply) => reply.status(down ? 503 : 200).send({ status: down ? 'unready' : 'ready' }));
  upstream.get('/v1/notifications/stream', (_request, reply) => {
    if (down) return reply.status(502).send({ status: 502 });
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
    reply.raw.write(': connected\n\n');
    return reply;
  });
  upstream.all('/*', async (_request, reply) => reply.status(down ? 502 : 200).send({ down }));
  let url: string;
  let admin: string;
  beforeAll(async () => {
    url = await upstream.listen({ host: '127.0.0.1', port: 0 });
    admin = await token('admin');
  });
  afterEach(() => {
    down = false;
  });
  afterAll(async () => {
    await upstream.close();
  });

  const startGateway = (env: Record<string, string>) =>
    gatewayService.start(
      gatewayService.loadConfig({
        PORT: '0',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        DRIVER_URL: url,
        IDENTITY_URL: url,
        MAILER_URL: url,
        NOTIFICATION_URL: url,
        OPERATIONS_URL: url,
        ...env,
      }),
    );
  const get = async (base: string, path: string, signal?: AbortSignal) => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${admin}` }, signal });
    await response.text();
    return response.status;
  };
  /** Calls `path` until the gateway refuses it without calling (its breaker open); bounded. */
  async function openBreaker(base: string, path: string, upstreamName: string): Promise<void> {
    for (let i = 0; i < 20 && (await breakerState(base, upstreamName)) !== 'open'; i += 1) await get(base, path);
    expect(await breakerState(base, upstreamName)).toBe('open');
  }

  it("closes an open breaker as soon as the upstream's /readyz is ready again, long before its reset time", async () => {
    const gateway = await startGateway({ UPSTREAM_BREAKER_RESET_MS: '60000', UPSTREAM_PROBE_INTERVAL_MS: '100' });
    try {
      await eventually(async () => ((await (await fetch(`${gateway.url}/readyz`)).json()) as { status: string }).status === 'ready', {
        description: 'every upstream seen ready',
      });
      down = true;
      await eventually(
        async () => ((await (await fetch(`${gateway.url}/readyz`)).json()) as { details: Record<string, string> }).details.driver === 'down',
        { description: 'the upstream seen not ready' },
      );
      await openBreaker(gateway.url, '/v1/drivers', 'driver');
      expect(await get(gateway.url, '/v1/drivers')).toBe(503);

      down = false;
      const backAt = Date.now();
      await eventually(async () => (await get(gateway.url, '/v1/drivers')) === 200, {
        timeoutMs: 5_000,
        intervalMs: 20,
        description: 'the route served again',
      });
      const recoveredMs = Date.now() - backAt;
      // One probe interval (100 ms) and the probe itself; the breaker's own reset time is 60 s.
      expect(recoveredMs).toBeLessThan(2_000);
      expect(await breakerState(gateway.url, 'driver')).toBe('closed');
    } finally {
      await gateway.stop();
    }
  }, 30_000);

  it('settles a half-open trial that is a stream when its head arrives, not when the stream ends', async () => {
    // No probe during the test (the interval is a minute): only the reset time lets the trial through.
    const gateway = await startGateway({ UPSTREAM_BREAKER_RESET_MS: '300', UPSTREAM_PROBE_INTERVAL_MS: '60000' });
    const stream = new AbortController();
    try {
      down = true;
      await openBreaker(gateway.url, '/v1/notifications', 'notification');
      down = false;
      await eventually(async () => (await breakerState(gateway.url, 'notification')) === 'half-open', {
        timeoutMs: 3_000,
        description: 'the breaker half-open after its reset time',
      });

      // The trial is the live stream: its head arrives, its body never ends.
      const trial = await fetch(`${gateway.url}/v1/notifications/stream`, { headers: { authorization: `Bearer ${admin}` }, signal: stream.signal });
      expect(trial.status).toBe(200);
      const closed = await eventually(async () => ((await breakerState(gateway.url, 'notification')) === 'closed' ? true : undefined), {
        timeoutMs: 2_000,
        description: 'the breaker closed by the stream head',
      });
      expect(closed).toBe(true);
      // Other calls to the upstream pass while the stream stays open.
      expect(await get(gateway.url, '/v1/notifications')).toBe(200);

      // A stream trial that fails reopens it just as well.
      down = true;
      await openBreaker(gateway.url, '/v1/notifications', 'notification');
      await eventually(async () => (await breakerState(gateway.url, 'notification')) === 'half-open', {
        timeoutMs: 3_000,
        description: 'half-open again',
      });
      expect(await get(gateway.url, '/v1/notifications/stream')).toBe(502);
      expect(await breakerState(gateway.url, 'notification')).toBe('open');
    } finally {
      stream.abort();
      await gateway.stop();
    }
  }, 30_000);
});
