import { randomUUID } from 'node:crypto';
import { DOMAIN_EXCHANGE } from '@onboarding/messaging';
import { componentUnderTest, eventually, proxyFor, type TcpProxy } from '@onboarding/test-infra';
import { driverService } from '../src';

// The service reaches its broker through a proxy the test can cut; the event probe connects directly, so it
// keeps listening through the outage.
let brokerProxy: TcpProxy | undefined;
const service = componentUnderTest(driverService, {
  probeExchange: DOMAIN_EXCHANGE,
  env: async (isolated) => {
    if (!isolated) throw new Error('the driver service runs in an isolated environment');
    // The driver service's own broker user, as componentUnderTest would give it, through the proxy.
    const own = isolated.broker.urlFor('driver');
    brokerProxy = await proxyFor(own);
    return { AMQP_URL: brokerProxy.rewrite(own) };
  },
});
afterAll(() => brokerProxy?.stop());

interface Readiness {
  status: string;
  checks: Record<string, string>;
  details: Record<string, unknown>;
}

async function probe(path: '/readyz' | '/healthz') {
  const response = await fetch(`${service.baseUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: (await response.json()) as Readiness };
}

describe('driver service while its broker is away', () => {
  it('stays ready for HTTP, accepts a registration into its outbox and publishes it once the broker is back', async () => {
    // The relay starts before the broker connection is up, so its first attempt may still be backing off.
    await eventually(async () => (await probe('/readyz')).body.status === 'ready', { timeoutMs: 10_000, description: 'ready' });
    expect(await probe('/readyz')).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { database: 'up' }, details: { broker: 'up', consumer: 'up', relay: 'up' } },
    });

    brokerProxy!.cut();
    let driverId: string;
    try {
      // The relay polls every second, so within a few its failed attempt shows too.
      const during = await eventually(
        async () => {
          const readiness = await probe('/readyz');
          const { broker, consumer, relay } = readiness.body.details;
          return broker === 'down' && consumer === 'down' && relay === 'down' ? readiness : undefined;
        },
        { timeoutMs: 10_000, description: 'broker, consumer and relay reported down' },
      );
      expect(during.status).toBe(200);
      expect(during.body).toMatchObject({ status: 'degraded', checks: { database: 'up' } });
      expect((await probe('/healthz')).status).toBe(200);

      const response = await fetch(`${service.baseUrl}/v1/drivers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-subject': 'dispatcher-1', 'x-auth-role': 'dispatcher' },
        body: JSON.stringify({
          firstName: 'Ada',
          lastName: 'Lovelace',
          email: `ada.${randomUUID().slice(0, 8)}@example.com`,
          phone: '+44 20 7946 0000',
        }),
      });
      expect(response.status).toBe(202);
      driverId = ((await response.json()) as { id: string }).id;
      // Held, not lost: nothing can have gone out while the connection is cut.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(service.probe.ofType('driver.registered').filter((message) => message.body.subject === driverId)).toEqual([]);
      expect((await probe('/readyz')).status).toBe(200);
    } finally {
      brokerProxy!.restore();
    }

    await eventually(() => service.probe.ofType('driver.registered').find((message) => message.body.subject === driverId), {
      timeoutMs: 20_000,
      description: 'driver.registered published after the broker came back',
    });
    await eventually(async () => (await probe('/readyz')).body.status === 'ready', { timeoutMs: 10_000, description: 'ready again' });
    expect((await probe('/healthz')).status).toBe(200);
  });
});
