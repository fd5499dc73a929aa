import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { createLogger } from '@onboarding/service-kit';
import { buildGatewayApp, loadGatewayConfig, signDevToken, type GatewayConfig } from '../src';
import type { GatewayApp } from '../src/app';

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
      caller: request.headers['x-caller-subject'],
      authorization: request.headers.authorization ?? null,
    }),
  );
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, url };
}

let config: GatewayConfig;
let gateway: GatewayApp;
let baseUrl: string;
const upstreams: Record<string, { server: FastifyInstance; url: string }> = {};

beforeAll(async () => {
  for (const name of ['driver', 'identity', 'mailer']) upstreams[name] = await startUpstream(name);
  config = loadGatewayConfig({
    GATEWAY_PORT: '0',
    DRIVER_URL: upstreams.driver!.url,
    IDENTITY_URL: upstreams.identity!.url,
    MAILER_URL: upstreams.mailer!.url,
    NOTIFICATION_URL: 'http://127.0.0.1:9', // nothing listens there: an upstream that is down
    UPSTREAM_TIMEOUT_MS: '2000',
  });
  gateway = await buildGatewayApp(config, createLogger('gateway', process.env.TEST_LOG_LEVEL ?? 'silent'));
  baseUrl = await gateway.start();
});

afterAll(async () => {
  await gateway?.stop();
  for (const upstream of Object.values(upstreams)) await upstream.server.close();
});

const token = (role: 'admin' | 'dispatcher') =>
  signDevToken({ secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, role });

async function call(path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  const response = await fetch(`${baseUrl}${path}`, { ...init, headers });
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
      authorization: null,
    });
    expect(response.headers.get('x-request-id')).toBe('req-123');
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

  it('answers 502 problem+json while an upstream is down, and is not ready', async () => {
    const response = await call('/v1/notifications', { token: await token('admin') });
    expect(response.status).toBe(502);
    expect(response.body).toMatchObject({ type: '/problems/upstream-unavailable', status: 502 });
    const ready = await call('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ driver: 'up', identity: 'up', mailer: 'up', notification: 'down' });
    expect((await call('/healthz')).status).toBe(200);
  });

  it('answers 404 problem+json for routes it does not have', async () => {
    const response = await call('/v2/drivers', { token: await token('admin') });
    expect(response.status).toBe(404);
    expect(response.body.type).toBe('/problems/not-found');
  });
});
