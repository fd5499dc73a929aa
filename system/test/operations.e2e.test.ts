import { loadGatewayConfig, signDevToken } from '@onboarding/gateway';
import type { RegistrationTimeline, SystemOverview } from '@onboarding/contracts';
import { GraphFake, eventually } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

/**
 * The operations service in the whole platform (six processes, identity on the Graph fake): registrations through
 * the gateway end with complete timelines in operations, the success path and a refused account alike, and the
 * overview shows every service, queue and outcome. Admins only.
 */
const fixture = new LocalPlatform();
const graph = new GraphFake();

beforeAll(async () => {
  await graph.start();
  await fixture.start('operations', {
    env: { ...graph.identityEnvironment(), TRACE_UI_URL: 'http://jaeger.local/trace/{traceId}' },
  });
}, 120_000);

afterAll(async () => {
  await fixture.stop();
  await graph.stop();
});

async function completeTimeline(driverId: string): Promise<RegistrationTimeline> {
  return eventually(
    async () => {
      const response = await fixture.api('GET', `/v1/operations/registrations/${driverId}/timeline`);
      const timeline = response.body as unknown as RegistrationTimeline;
      return response.status === 200 && timeline.complete ? timeline : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250, description: `a complete timeline of ${driverId}` },
  );
}

describe('registration timelines and the system overview, through the gateway', () => {
  it('shows every step of a registration: registered, account created, activated, welcome mail sent, admins notified', async () => {
    const registered = await fixture.register(1, 'operations-happy');
    expect(registered.status).toBe(202);
    const driverId = registered.body.id as string;
    const timeline = await completeTimeline(driverId);
    expect(timeline.outcome).toBe('ACTIVE');
    expect(timeline.steps.map((step) => [step.step, step.service])).toEqual([
      ['registered', 'driver'],
      ['account-created', 'identity'],
      ['activated', 'driver'],
      ...(timeline.steps[3]?.step === 'welcome-mail-sent'
        ? [
            ['welcome-mail-sent', 'mailer'],
            ['admins-notified', 'notification'],
          ]
        : [
            ['admins-notified', 'notification'],
            ['welcome-mail-sent', 'mailer'],
          ]),
    ]);
    // One saga: every step carries the registration's correlation id (the gateway's request id).
    expect(new Set(timeline.steps.map((step) => step.correlationId))).toEqual(new Set([registered.headers.get('x-request-id')]));
    expect(timeline.steps[0]?.versions.sort()).toEqual([1, 2]);
    const times = timeline.steps.map((step) => Date.parse(step.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(JSON.stringify(timeline)).not.toContain('operations-happy'); // the address is driver.operations-happy.1@example.com
  });

  it('shows a refused account with the reason, the failure and the admins notified', async () => {
    graph.seed('driver.operations-refused.1@example.com');
    const registered = await fixture.register(1, 'operations-refused');
    const driverId = registered.body.id as string;
    const timeline = await completeTimeline(driverId);
    expect(timeline.outcome).toBe('FAILED');
    expect(timeline.steps.map((step) => step.step)).toEqual(['registered', 'account-creation-failed', 'registration-failed', 'admins-notified']);
    const refused = timeline.steps[1]!;
    expect(refused).toMatchObject({ service: 'identity', failure: true, code: 'account-exists' });
    expect(refused.reason).toMatch(/already exists/);
    expect(refused.reason).not.toContain('operations-refused');
  });

  it('answers the overview: every service ready, its outbox, the queues and the outcomes of the registrations above', async () => {
    const overview = await eventually(
      async () => {
        const response = await fixture.api('GET', '/v1/operations/overview?bucket=5m');
        const body = response.body as unknown as SystemOverview;
        return response.status === 200 && body.services.every((entry) => entry.status === 'ready') ? body : undefined;
      },
      { timeoutMs: 20_000, description: 'every service ready in the overview' },
    );
    expect(overview.services.map((entry) => entry.service).sort()).toEqual(['driver', 'gateway', 'identity', 'mailer', 'notification', 'operations']);
    expect(overview.services.find((entry) => entry.service === 'identity')?.breakers).toEqual({ directory: 'closed' });
    expect(overview.services.find((entry) => entry.service === 'driver')?.outboxBacklog).toEqual(expect.any(Number));
    expect(overview.services.find((entry) => entry.service === 'gateway')?.outboxBacklog).toBeNull();
    for (const queue of overview.queues) expect([queue.queue, typeof queue.messages]).toEqual([queue.queue, 'number']);
    expect(Object.keys(overview.parked).sort()).toEqual(['driver', 'identity', 'mailer', 'notification', 'operations']);
    // Read from each service's own table through its parked_messages gauge: a number for each, never unknown here.
    for (const [service, count] of Object.entries(overview.parked)) expect([service, typeof count]).toEqual([service, 'number']);
    const totals = overview.sagaOutcomes.buckets.reduce(
      (sum, bucket) => ({ active: sum.active + bucket.active, failed: sum.failed + bucket.failed }),
      {
        active: 0,
        failed: 0,
      },
    );
    expect(totals).toEqual({ active: 1, failed: 1 });
  });

  it('is for admins only: a dispatcher gets 403', async () => {
    const config = loadGatewayConfig({});
    const dispatcher = await signDevToken({
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      role: 'dispatcher',
    });
    for (const path of ['/v1/operations/overview', `/v1/operations/registrations/${crypto.randomUUID()}/timeline`]) {
      const response = await fetch(`${fixture.system.gatewayUrl}${path}`, { headers: { authorization: `Bearer ${dispatcher}` } });
      expect([path, response.status]).toEqual([path, 403]);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
  });
});
