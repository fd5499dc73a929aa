import { loadGatewayConfig, signDevToken } from '@onboarding/gateway';
import { eventually } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

const fixture = new LocalPlatform();
const config = loadGatewayConfig({});
let dispatcherToken = '';

beforeAll(async () => {
  await fixture.start('authorization');
  dispatcherToken = await signDevToken({
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    role: 'dispatcher',
    subject: 'dispatcher-e2e',
  });
}, 120_000);

afterAll(async () => {
  await fixture.stop();
});

/** A dispatcher's request through the gateway, with whatever extra headers the client chooses to send. */
async function asDispatcher(method: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${fixture.system.gatewayUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${dispatcherToken}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

describe('authorisation by role through the gateway (five processes, real PostgreSQL and RabbitMQ)', () => {
  it("refuses a dispatcher's change of address (even claiming to be admin), lets the admin make it, and records who changed what", async () => {
    const registered = await fixture.register(1, 'authz');
    expect(registered.status).toBe(202);
    const id = registered.body.id as string;
    const email = registered.body.email as string;
    await eventually(async () => (await fixture.api('GET', `/v1/drivers/${id}`)).body.status === 'ACTIVE', {
      timeoutMs: 30_000,
      description: `driver ${id} ACTIVE`,
    });

    const refused = await asDispatcher('PATCH', `/v1/drivers/${id}`, { version: 2, email: 'taken.over@example.com' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ status: 403, type: '/problems/forbidden' });
    // The gateway drops the client's copies of its identity headers: claiming the admin role changes nothing.
    const forged = await asDispatcher(
      'PATCH',
      `/v1/drivers/${id}`,
      { version: 2, email: 'taken.over@example.com' },
      { 'x-auth-role': 'admin', 'x-auth-subject': 'dev-admin' },
    );
    expect(forged.status).toBe(403);
    expect((await fixture.api('GET', `/v1/drivers/${id}`)).body).toMatchObject({ email, version: 2 });

    expect((await asDispatcher('PATCH', `/v1/drivers/${id}`, { version: 2, firstName: 'Renamed' })).status).toBe(200);
    const moved = await fixture.api('PATCH', `/v1/drivers/${id}`, { version: 3, email: 'driver.authz.moved@example.com' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ email: 'driver.authz.moved@example.com', version: 4 });

    const history = await fixture.api('GET', `/v1/drivers/${id}/events`);
    const steps = (history.body.items as { type: string; actor?: string }[]).filter((entry) =>
      ['registered', 'activated', 'updated'].includes(entry.type),
    );
    expect(steps.map(({ type, actor }) => ({ type, actor }))).toEqual([
      { type: 'registered', actor: 'dev-admin' },
      { type: 'activated', actor: undefined },
      { type: 'updated', actor: 'dispatcher-e2e' },
      { type: 'updated', actor: 'dev-admin' },
    ]);
  });
});
