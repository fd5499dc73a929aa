import { randomUUID } from 'node:crypto';
import { DriverActivationRejectedV1, DriverRegisteredV1, DriverRegisteredV2, createEnvelope, service as serviceEntry } from '@onboarding/contracts';
import { DOMAIN_EXCHANGE, listParked, platformParkedTables } from '@onboarding/messaging';
import { componentUnderTest, eventually } from '@onboarding/test-infra';
import { identityService } from '../src';

const service = componentUnderTest(identityService, { probeExchange: DOMAIN_EXCHANGE });

function registered(overrides: Partial<DriverRegisteredV1> = {}) {
  const driverId = randomUUID();
  return createEnvelope(
    DriverRegisteredV1,
    {
      driverId,
      firstName: 'Katherine',
      lastName: 'Johnson',
      email: `k.${driverId.slice(0, 8)}@example.com`,
      phone: '+1 555 0199',
      registeredAt: new Date().toISOString(),
      version: 1,
      ...overrides,
    },
    { source: 'driver', subject: overrides.driverId ?? driverId, correlationId: randomUUID() },
  );
}

async function getAccount(driverId: string) {
  const response = await fetch(`${service.baseUrl}/v1/identity/accounts/${driverId}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('identity service', () => {
  it('creates the directory account for a registered driver, links it and announces it', async () => {
    const event = registered();
    await service.probe.publish(DriverRegisteredV1.routingKey, event);
    const created = await eventually(() => service.probe.ofType('identity.account.created').find((m) => m.body.subject === event.data.driverId), {
      description: 'identity.account.created',
    });
    expect(created.body).toMatchObject({ causationid: event.id, correlationid: event.correlationid, source: 'identity' });
    const objectId = (created.body.data as { objectId: string }).objectId;
    const account = await getAccount(event.data.driverId);
    expect(account.status).toBe(200);
    expect(account.body).toMatchObject({ driverId: event.data.driverId, objectId, provider: 'local' });
    expect(await service.app.parts.directory.findByEmail(event.data.email)).toMatchObject({ objectId, driverId: event.data.driverId });
  });

  it('deletes on compensation only the account linked to the driver named, never an objectId the message alone gives', async () => {
    const accountOf = async (event: ReturnType<typeof registered>) => {
      await service.probe.publish(DriverRegisteredV1.routingKey, event);
      const created = await eventually(() => service.probe.ofType('identity.account.created').find((m) => m.body.subject === event.data.driverId), {
        description: 'identity.account.created',
      });
      return (created.body.data as { objectId: string }).objectId;
    };
    const victim = registered();
    const rejected = registered();
    const victimAccount = await accountOf(victim);
    const rejectedAccount = await accountOf(rejected);
    const rejection = (objectId: string) =>
      createEnvelope(
        DriverActivationRejectedV1,
        {
          driverId: rejected.data.driverId,
          objectId,
          status: 'DELETED',
          reason: 'driver was deleted',
          rejectedAt: new Date().toISOString(),
          version: 2,
        },
        { source: 'driver', subject: rejected.data.driverId, correlationId: randomUUID() },
      );
    const parkingLot = { ...platformParkedTables(service.databaseUrl), queues: [serviceEntry('identity').queue] };

    // Someone else's account named for this driver: parked with the reason, nothing deleted.
    await service.probe.publish(DriverActivationRejectedV1.routingKey, rejection(victimAccount));
    const parked = await eventually(async () => (await listParked(parkingLot)).find((message) => message.error.includes('is not the one linked')), {
      description: 'the rejection naming another driver’s account parked',
    });
    expect(parked.reason).toBe('permanent-failure');
    expect(await service.app.parts.directory.findByEmail(victim.data.email)).toMatchObject({ objectId: victimAccount });
    expect(await service.app.parts.directory.findByEmail(rejected.data.email)).toMatchObject({ objectId: rejectedAccount });

    // The linked account: deleted and announced.
    await service.probe.publish(DriverActivationRejectedV1.routingKey, rejection(rejectedAccount));
    await eventually(() => service.probe.ofType('identity.account.deleted').find((m) => m.body.subject === rejected.data.driverId), {
      description: 'identity.account.deleted',
    });
    expect(await service.app.parts.directory.findByEmail(rejected.data.email)).toBeFalsy();
    expect(await service.app.parts.directory.findByEmail(victim.data.email)).toMatchObject({ objectId: victimAccount });
  });

  it('never creates a second account when the registration arrives again (even as a new message)', async () => {
    const event = registered();
    await service.probe.publish(DriverRegisteredV1.routingKey, event);
    await eventually(() => service.probe.ofType('identity.account.created').some((m) => m.body.subject === event.data.driverId), {
      description: 'first account',
    });
    const copy = { ...event, id: randomUUID() };
    await service.probe.publish(DriverRegisteredV1.routingKey, copy);
    await service.probe.publish(DriverRegisteredV1.routingKey, event);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(service.probe.ofType('identity.account.created').filter((m) => m.body.subject === event.data.driverId)).toHaveLength(1);
    expect(service.probe.ofType('identity.account.creation-failed').filter((m) => m.body.subject === event.data.driverId)).toHaveLength(0);
  });

  it('reports a permanent failure when the address already has an account of another driver', async () => {
    const first = registered();
    await service.probe.publish(DriverRegisteredV1.routingKey, first);
    await eventually(() => service.probe.ofType('identity.account.created').some((m) => m.body.subject === first.data.driverId), {
      description: 'first account',
    });
    const second = registered({ email: first.data.email.toUpperCase() });
    await service.probe.publish(DriverRegisteredV1.routingKey, second);
    const failed = await eventually(
      () => service.probe.ofType('identity.account.creation-failed').find((m) => m.body.subject === second.data.driverId),
      { description: 'identity.account.creation-failed' },
    );
    expect(failed.body.data).toMatchObject({ driverId: second.data.driverId, code: 'account-exists' });
    expect((await getAccount(second.data.driverId)).status).toBe(404);
  });

  it('creates one account when the same registration arrives as v1 and v2 at once (v1 upcast)', async () => {
    for (let round = 0; round < 5; round += 1) {
      const v1 = registered();
      const v2 = createEnvelope(
        DriverRegisteredV2,
        { ...v1.data, preferredLanguage: 'fr' },
        {
          source: 'driver',
          subject: v1.data.driverId,
          correlationId: v1.correlationid,
        },
      );
      await Promise.all([service.probe.publish(DriverRegisteredV2.routingKey, v2), service.probe.publish(DriverRegisteredV1.routingKey, v1)]);
      await eventually(() => service.probe.ofType('identity.account.created').some((m) => m.body.subject === v1.data.driverId), {
        description: 'the account',
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(service.probe.ofType('identity.account.created').filter((m) => m.body.subject === v1.data.driverId)).toHaveLength(1);
      expect(service.probe.ofType('identity.account.creation-failed').filter((m) => m.body.subject === v1.data.driverId)).toHaveLength(0);
    }
  });

  it('answers 404 problem+json for a driver without an account and 400 for a malformed id', async () => {
    const missing = await getAccount(randomUUID());
    expect(missing.status).toBe(404);
    expect(missing.body.type).toBe('/problems/not-found');
    expect((await getAccount('123')).status).toBe(400);
  });
});
