import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { BACKEND_SERVICES, serviceUrlVariable, type ServiceName } from '@onboarding/contracts';
import { DEV_JWT_SECRET, signDevToken } from '@onboarding/gateway';
import { MailCatcher, eventually, freePort, isolatedEnvironment } from '@onboarding/test-infra';
import { serviceEntryPoint } from '../src/launcher/system-processes';

/**
 * Each service's built main.js as an image runs it (NODE_ENV=production, see deploy/docker/Dockerfile): with a
 * development default left unset it must refuse to start and say which settings; given them, it starts.
 */

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function launch(name: ServiceName, env: Record<string, string>): Started {
  // Only what the test gives: nothing of the developer's own environment may stand in for a setting.
  const child = spawn(process.execPath, [serviceEntryPoint(name)], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', HOST: '127.0.0.1', OTEL_SDK_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Starts the service and waits for it to exit; a service that keeps running fails the test (and is stopped). */
async function refusal(name: ServiceName, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const started = launch(name, { PORT: String(await freePort()), ...env });
  const timeout = new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 20_000).unref());
  const code = await Promise.race([started.exited, timeout]);
  if (code === 'running') {
    started.child.kill('SIGKILL');
    throw new Error(`${name} started in production with settings missing:\n${started.output()}`);
  }
  return { code, output: started.output() };
}

/** Starts the service and waits until /readyz answers 200; the caller stops it. */
async function ready(name: ServiceName, env: Record<string, string>): Promise<Started & { url: string }> {
  const port = await freePort();
  const started = launch(name, { PORT: String(port), LOG_LEVEL: 'warn', ...env });
  const url = `http://127.0.0.1:${port}`;
  let code: number | null | undefined;
  void started.exited.then((exitCode) => (code = exitCode));
  try {
    await eventually(
      async () => {
        if (code !== undefined) throw new Error(`${name} exited with ${code}: ${started.output()}`);
        return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok;
      },
      { timeoutMs: 30_000, intervalMs: 200, description: `${name} ready` },
    );
  } catch (err) {
    await stop(started);
    throw new Error(`${(err as Error).message}\n${started.output()}`);
  }
  return { ...started, url };
}

async function stop(started: Started): Promise<void> {
  started.child.kill('SIGTERM');
  const killer = setTimeout(() => started.child.kill('SIGKILL'), 15_000);
  await started.exited;
  clearTimeout(killer);
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

const close = (server: Server) => new Promise((resolve) => server.close(resolve));

describe('a service started with NODE_ENV=production', () => {
  const missing: Record<ServiceName, string[]> = {
    gateway: ['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_JWKS_URL or JWT_SECRET', 'OIDC_ISSUER_URL', 'OIDC_CLIENT_ID', 'OIDC_REDIRECT_URL', 'SESSION_SECRET'],
    driver: ['DATABASE_URL', 'AMQP_URL'],
    identity: ['DATABASE_URL', 'AMQP_URL', 'IDENTITY_PROVIDER'],
    mailer: ['DATABASE_URL', 'AMQP_URL', 'SMTP_URL'],
    notification: ['DATABASE_URL', 'AMQP_URL'],
    operations: ['DATABASE_URL', 'AMQP_URL'],
  };

  it.each(Object.entries(missing))('%s refuses to start without its production settings, naming every one', async (name, settings) => {
    const { code, output } = await refusal(name as ServiceName);
    expect(code).not.toBe(0);
    for (const setting of settings) expect(output).toContain(`${setting}: `);
  });

  it('the gateway refuses the development secret even when it is given explicitly', async () => {
    const { code, output } = await refusal('gateway', { JWT_SECRET: DEV_JWT_SECRET, JWT_ISSUER: 'fleet', JWT_AUDIENCE: 'onboarding-api' });
    expect(code).not.toBe(0);
    expect(output).toContain('JWT_SECRET: the development secret from the repository is never accepted in production');
  });

  it('the gateway with a JWKS, issuer, audience and console sign-in settings becomes ready, accepts their tokens and no development token or sign-in', async () => {
    const keys = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    const jwks = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    );
    // One stand-in for every service behind the gateway: ready, and answers every route.
    const upstream = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"upstream":true}'));
    const [jwksUrl, upstreamUrl] = await Promise.all([listen(jwks), listen(upstream)]);
    const issuer = 'https://fleet.b2clogin.com/tenant/v2.0/';
    const gateway = await ready('gateway', {
      JWT_JWKS_URL: `${jwksUrl}/keys`,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: 'onboarding-api',
      // The console's provider is only asked at the first sign-in; the gateway starts without reaching it.
      OIDC_ISSUER_URL: issuer,
      OIDC_CLIENT_ID: 'console',
      OIDC_REDIRECT_URL: 'https://fleet.example.com/admin/auth/callback',
      SESSION_SECRET: 'Zr8vQ2mXk4Lp9sT1wYc6Nb3Hd7Fg5Ja0Ue+Ro2iVxM=',
      ...Object.fromEntries(BACKEND_SERVICES.map((entry) => [serviceUrlVariable(entry.name), upstreamUrl])),
    });
    const status = async (token: string) =>
      (await fetch(`${gateway.url}/v1/drivers`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) })).status;
    try {
      const b2c = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
        .setSubject('b2c-user')
        .setIssuer(issuer)
        .setAudience('onboarding-api')
        .setExpirationTime('5m')
        .sign(keys.privateKey);
      expect(await status(b2c)).toBe(200);
      const forged = await signDevToken({ secret: DEV_JWT_SECRET, issuer, audience: 'onboarding-api', role: 'admin' });
      expect(await status(forged)).toBe(401);
      // The development sign-in does not exist in production: its endpoint is a 404, and the console says so.
      const devSignIn = await fetch(`${gateway.url}/admin/auth/dev-sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: gateway.url },
        body: JSON.stringify({ role: 'admin' }),
        signal: AbortSignal.timeout(5_000),
      });
      expect(devSignIn.status).toBe(404);
      const session = await fetch(`${gateway.url}/admin/auth/session`, { signal: AbortSignal.timeout(5_000) });
      expect(await session.json()).toMatchObject({ session: null, devSignIn: false, oidcSignIn: true });
    } finally {
      await stop(gateway);
      await Promise.all([close(jwks), close(upstream)]);
    }
  });

  it('identity and mailer start once their development defaults are chosen explicitly', async () => {
    const environment = await isolatedEnvironment('production-start');
    const mail = new MailCatcher();
    await mail.start();
    const base = { DATABASE_URL: environment.databaseUrl };
    try {
      // Connected as a shared administrator, a service could not tell who published an event: it refuses.
      const shared = await refusal('identity', { ...base, AMQP_URL: environment.amqpUrl, IDENTITY_PROVIDER: 'local' });
      expect(shared.code).not.toBe(0);
      expect(shared.output).toContain("not as the identity service's own user");
      const identity = await ready('identity', { ...base, AMQP_URL: environment.broker.urlFor('identity'), IDENTITY_PROVIDER: 'local' });
      await stop(identity);
      const mailer = await ready('mailer', { ...base, AMQP_URL: environment.broker.urlFor('mailer'), SMTP_URL: mail.url });
      await stop(mailer);
    } finally {
      await mail.stop();
      await environment.drop();
    }
  });
});
