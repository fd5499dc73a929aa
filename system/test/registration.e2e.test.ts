import { loadGatewayConfig, signDevToken } from '@onboarding/gateway';
import { eventually } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

const fixture = new LocalPlatform();

beforeAll(async () => {
  await fixture.start('e2e');
}, 120_000);

afterAll(async () => {
  await fixture.stop();
});

describe('driver registration end to end (five processes, real PostgreSQL, RabbitMQ and SMTP)', () => {
  it('turns every registration ACTIVE with one directory account, one welcome mail and the admin notification', async () => {
    const count = 5;
    const responses = await Promise.all(Array.from({ length: count }, (_, index) => fixture.register(index, 'happy')));
    expect(responses.map((response) => response.status)).toEqual(Array(count).fill(202));
    const ids = responses.map((response) => response.body.id as string);

    for (const id of ids) {
      const driver = await eventually(
        async () => {
          const response = await fixture.api('GET', `/v1/drivers/${id}`);
          return response.body.status === 'ACTIVE' ? response.body : undefined;
        },
        { timeoutMs: 30_000, description: `driver ${id} ACTIVE` },
      );
      const account = await fixture.api('GET', `/v1/identity/accounts/${id}`);
      expect(account.status).toBe(200);
      expect(account.body.objectId).toBe(driver.b2cObjectId);
      await eventually(() => fixture.mail.mailsTo(driver.email as string).length === 1, {
        timeoutMs: 30_000,
        description: `the welcome mail of ${id}`,
      });
      const notifications = await eventually(
        async () => {
          const found = await fixture.notificationsFor(id);
          return found.length > 0 ? found : undefined;
        },
        { timeoutMs: 30_000, description: `the notification of ${id}` },
      );
      expect(notifications).toEqual([expect.objectContaining({ type: 'driver.activated', recipient: 'admin@fleet.local' })]);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const response of responses) {
      expect(fixture.mail.mailsTo(response.body.email as string)).toHaveLength(1);
    }
    const history = await fixture.api('GET', `/v1/drivers/${ids[0]}/events`);
    expect((history.body.items as { type: string }[]).map((entry) => entry.type)).toEqual(['registered', 'activated']);
  });

  it('refuses a second registration with the same address through the gateway (409 problem+json)', async () => {
    const first = await fixture.register(1, 'dupe');
    expect(first.status).toBe(202);
    const second = await fixture.register(1, 'dupe');
    expect(second.status).toBe(409);
    expect(second.body.type).toBe('/problems/email-taken');
  });

  it('streams admin notifications live through the gateway (Server-Sent Events)', async () => {
    const config = loadGatewayConfig({});
    const token = await signDevToken({ secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, role: 'admin' });
    const controller = new AbortController();
    const response = await fetch(`${fixture.system.gatewayUrl}/v1/notifications/stream`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    // The body of a fetch() answer is a byte stream; the global fetch types leave its chunks untyped.
    const reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })();
    try {
      await eventually(() => text.includes(': connected'), { description: 'the stream to open' });
      const registered = await fixture.register(7, 'live');
      const id = registered.body.id as string;
      await eventually(() => text.includes(`"driverId":"${id}"`), { timeoutMs: 20_000, description: 'the live notification' });
      expect(text).toContain('event: notification');
    } finally {
      controller.abort();
      await reading;
    }
    const dispatcher = await signDevToken({
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      role: 'dispatcher',
    });
    const forbidden = await fetch(`${fixture.system.gatewayUrl}/v1/notifications/stream`, { headers: { authorization: `Bearer ${dispatcher}` } });
    expect(forbidden.status).toBe(403);
  });

  it("answers readiness with the state of every service it routes to, as the gateway's details", async () => {
    const response = await fetch(`${fixture.system.gatewayUrl}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready', checks: {}, details: { driver: 'up', identity: 'up', notification: 'up' } });
  });
});
