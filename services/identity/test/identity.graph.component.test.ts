import { randomUUID } from 'node:crypto';
import {
  DriverActivationRejectedV1,
  DriverDeletedV1,
  DriverErasedV1,
  DriverRegisteredV1,
  DriverUpdatedV1,
  createEnvelope,
  type EventContract,
  type EventData,
} from '@onboarding/contracts';
import { DOMAIN_EXCHANGE } from '@onboarding/messaging';
import { GraphFake, componentUnderTest, eventually } from '@onboarding/test-infra';
import { identityService } from '../src';

const EXTENSIONS_APP_ID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const ROLE_ATTRIBUTE = `extension_${EXTENSIONS_APP_ID.replace(/-/g, '')}_Role`;

/** Identity with the Graph directory, against `fake` (started first, stopped after the tests) and `settings`. */
function identityAgainst(fake: GraphFake, settings: Record<string, string>) {
  const identity = componentUnderTest(identityService, {
    probeExchange: DOMAIN_EXCHANGE,
    env: async () => {
      await fake.start();
      return { ...fake.identityEnvironment(EXTENSIONS_APP_ID), ...settings };
    },
  });
  afterAll(() => fake.stop());
  return identity;
}

const graph = new GraphFake();
const service = identityAgainst(graph, { GRAPH_TIMEOUT_MS: '1000', GRAPH_BREAKER_RESET_MS: '500', RETRY_DELAYS_MS: '200,400,800,1600,3200' });

function registered(overrides: Partial<DriverRegisteredV1> = {}) {
  const driverId = overrides.driverId ?? randomUUID();
  return createEnvelope(
    DriverRegisteredV1,
    {
      driverId,
      firstName: 'Margaret',
      lastName: 'Hamilton',
      email: `m.${driverId.slice(0, 8)}@example.com`,
      phone: '+1 555 0123',
      registeredAt: new Date().toISOString(),
      version: 1,
      ...overrides,
    },
    { source: 'driver', subject: driverId, correlationId: randomUUID() },
  );
}

async function send<C extends EventContract>(contract: C, data: EventData<C>, subject: string) {
  const envelope = createEnvelope(contract, data, { source: 'driver', subject, correlationId: randomUUID() });
  await service.probe.publish(contract.routingKey, envelope);
  return envelope;
}

const eventFor = (type: string, driverId: string) => () => service.probe.ofType(type).find((m) => m.body.subject === driverId);

async function activeAccount() {
  const event = registered();
  await service.probe.publish(DriverRegisteredV1.routingKey, event);
  const created = await eventually(eventFor('identity.account.created', event.data.driverId), { description: 'account created' });
  return { event, objectId: (created.body.data as { objectId: string }).objectId };
}

describe('identity with the Microsoft Graph provider', () => {
  it('creates a B2C local account with the documented shape and the DRIVER role, reusing one token', async () => {
    const tokensBefore = graph.tokensIssued;
    const { event, objectId } = await activeAccount();
    await activeAccount();
    const user = graph.users.get(objectId)!;
    expect(user).toMatchObject({
      accountEnabled: true,
      displayName: 'Margaret Hamilton',
      givenName: 'Margaret',
      surname: 'Hamilton',
      mobilePhone: '+1 555 0123',
      identities: [{ signInType: 'emailAddress', issuer: graph.tenant, issuerAssignedId: event.data.email }],
      [ROLE_ATTRIBUTE]: 'DRIVER',
    });
    expect(user.passwordProfile?.password).toMatch(/^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)(?=.*[^A-Za-z\d]).{16,}$/);
    expect(graph.tokensIssued - tokensBefore).toBeLessThanOrEqual(1);
  });

  it('finds its own account when the directory refuses the address, so a create retried after a lost answer never makes a second account', async () => {
    const driverId = randomUUID();
    const email = `lost.${driverId.slice(0, 8)}@example.com`;
    const earlier = graph.seed(email, { [`extension_${EXTENSIONS_APP_ID.replace(/-/g, '')}_DriverId`]: driverId });
    await service.probe.publish(DriverRegisteredV1.routingKey, registered({ driverId, email }));
    const created = await eventually(eventFor('identity.account.created', driverId), { description: 'account created' });
    // Created first (refused: the address has an account), then looked up: the account of the earlier attempt.
    expect((created.body.data as { objectId: string }).objectId).toBe(earlier.id);
    expect(graph.findByEmail(email)).toHaveLength(1);
  });

  it('treats "already exists" as a permanent failure of the registration', async () => {
    const email = `taken.${randomUUID().slice(0, 8)}@example.com`;
    graph.seed(email);
    const event = registered({ email });
    await service.probe.publish(DriverRegisteredV1.routingKey, event);
    const failed = await eventually(eventFor('identity.account.creation-failed', event.data.driverId), {
      description: 'creation-failed',
    });
    expect(failed.body.data).toMatchObject({ code: 'account-exists' });
    expect(graph.findByEmail(email)).toHaveLength(1);
  });

  it('retries 5xx and honours Retry-After on 429 before creating the account once', async () => {
    graph.failNext(1, { status: 429, retryAfterSeconds: 1 });
    graph.failNext(1, { status: 503 });
    const started = Date.now();
    const { event } = await activeAccount();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(graph.findByEmail(event.data.email)).toHaveLength(1);
  });

  it('applies updates newest first and ignores stale or duplicate versions', async () => {
    const { event, objectId } = await activeAccount();
    const { driverId } = event.data;
    const update = (version: number, firstName: string) =>
      send(
        DriverUpdatedV1,
        {
          driverId,
          firstName,
          lastName: 'Hamilton',
          email: event.data.email,
          phone: '+1 555 0199',
          changed: ['firstName'],
          updatedAt: new Date().toISOString(),
          version,
        },
        driverId,
      );
    await update(3, 'Maggie');
    await eventually(() => graph.users.get(objectId)?.givenName === 'Maggie', { description: 'version 3 applied' });
    const patches = graph.requests.filter((request) => request.method === 'PATCH').length;
    await update(2, 'Stale');
    await update(3, 'Maggie');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(graph.users.get(objectId)).toMatchObject({ givenName: 'Maggie', displayName: 'Maggie Hamilton', mobilePhone: '+1 555 0199' });
    expect(graph.requests.filter((request) => request.method === 'PATCH').length).toBe(patches);
    expect(service.probe.ofType('identity.account.updated').filter((m) => m.body.subject === driverId)).toHaveLength(1);
  });

  it('deletes the account when the driver is deleted, and the link answers 404 afterwards', async () => {
    const { event, objectId } = await activeAccount();
    await send(DriverDeletedV1, { driverId: event.data.driverId, deletedAt: new Date().toISOString(), version: 3 }, event.data.driverId);
    const deleted = await eventually(eventFor('identity.account.deleted', event.data.driverId), { description: 'account deleted' });
    expect(deleted.body.data).toMatchObject({ objectId, reason: 'driver-deleted' });
    expect(graph.users.has(objectId)).toBe(false);
    expect((await fetch(`${service.baseUrl}/v1/identity/accounts/${event.data.driverId}`)).status).toBe(404);
  });

  it('compensates a rejected activation by deleting the account (idempotently)', async () => {
    const { event, objectId } = await activeAccount();
    const rejection = {
      driverId: event.data.driverId,
      objectId,
      status: 'FAILED' as const,
      reason: 'timeout',
      rejectedAt: new Date().toISOString(),
      version: 2,
    };
    await send(DriverActivationRejectedV1, rejection, event.data.driverId);
    await send(DriverActivationRejectedV1, rejection, event.data.driverId); // a second request: already gone is fine
    await eventually(() => service.probe.ofType('identity.account.deleted').filter((m) => m.body.subject === event.data.driverId).length === 2, {
      description: 'both compensations settled',
    });
    expect(graph.users.has(objectId)).toBe(false);
  });

  it('erases a driver: deletes the account, then purges it from the deleted items, and confirms; a repeat or an unknown driver is fine', async () => {
    const { event, objectId } = await activeAccount();
    const driverId = event.data.driverId;
    const before = graph.requests.length;
    await send(DriverErasedV1, { driverId, erasedAt: new Date().toISOString() }, driverId);
    const confirmed = await eventually(eventFor('identity.driver-data.erased', driverId), { description: 'erasure confirmed' });
    expect(confirmed.body.data).toMatchObject({ driverId, removedMessages: 0 });
    const calls = graph.requests.slice(before).map((request) => `${request.method} ${request.url}`);
    expect(calls).toEqual([`DELETE /v1.0/users/${objectId}`, `DELETE /v1.0/directory/deletedItems/${objectId}`]);
    expect(graph.users.has(objectId)).toBe(false);
    expect(graph.deletedItems.has(objectId)).toBe(false);
    expect(graph.findByEmail(event.data.email)).toEqual([]);

    // A second erasure (a new message: the account already purged, both calls answer 404) and a driver identity never saw.
    const unknown = randomUUID();
    await send(DriverErasedV1, { driverId, erasedAt: new Date().toISOString() }, driverId);
    await send(DriverErasedV1, { driverId: unknown, erasedAt: new Date().toISOString() }, unknown);
    await eventually(() => service.probe.ofType('identity.driver-data.erased').filter((m) => m.body.subject === driverId).length === 2, {
      description: 'second confirmation',
    });
    await eventually(eventFor('identity.driver-data.erased', unknown), { description: 'unknown driver confirmed' });
    // A late copy of the registration finds the link kept as a tombstone and creates no new account.
    await service.probe.publish(DriverRegisteredV1.routingKey, registered({ driverId, email: event.data.email }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(graph.findByEmail(event.data.email)).toEqual([]);
  });
});

describe('the directory circuit breaker', () => {
  const flakyGraph = new GraphFake();
  const breaking = identityAgainst(flakyGraph, { GRAPH_BREAKER_RESET_MS: '1000', RETRY_DELAYS_MS: '200,400,800,1600,3200,6400' });

  it('opens while Graph keeps failing, shows it in readiness, and recovers without losing work', async () => {
    flakyGraph.failNext(6, { status: 503 });
    const events = [registered(), registered(), registered()];
    for (const event of events) await breaking.probe.publish(DriverRegisteredV1.routingKey, event);
    await eventually(
      async () => {
        const ready = (await (await fetch(`${breaking.baseUrl}/readyz`)).json()) as { details?: { breakers?: Record<string, string> } };
        return ready.details?.breakers?.directory === 'open';
      },
      { timeoutMs: 10_000, intervalMs: 20, description: 'the breaker to open' },
    );
    const callsWhileOpen = flakyGraph.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(flakyGraph.requests.length).toBe(callsWhileOpen); // an open breaker does not call Graph at all
    for (const event of events) {
      await eventually(() => breaking.probe.ofType('identity.account.created').some((m) => m.body.subject === event.data.driverId), {
        timeoutMs: 30_000,
        description: 'recovery',
      });
      expect(flakyGraph.findByEmail(event.data.email)).toHaveLength(1);
    }
    expect(breaking.probe.ofType('identity.account.creation-failed')).toHaveLength(0);
    const ready = (await (await fetch(`${breaking.baseUrl}/readyz`)).json()) as { details: { breakers: Record<string, string> } };
    expect(ready.details.breakers.directory).toBe('closed');
  });
});
