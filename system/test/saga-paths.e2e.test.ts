import { GraphFake, eventually } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

const SAGA_TIMEOUT_MS = 3_000;
const fixture = new LocalPlatform();
const graph = new GraphFake();

beforeAll(async () => {
  await graph.start();
  await fixture.start('saga-paths', {
    env: {
      ...graph.identityEnvironment('3fa85f64-5717-4562-b3fc-2c963f66afa6'),
      GRAPH_TIMEOUT_MS: '10000',
      SAGA_TIMEOUT_MS: String(SAGA_TIMEOUT_MS),
      SAGA_SWEEP_INTERVAL_MS: '250',
    },
  });
}, 120_000);

afterAll(async () => {
  await fixture.stop();
  await graph.stop();
});

async function driverStatus(id: string, status: string) {
  return eventually(
    async () => {
      const response = await fixture.api('GET', `/v1/drivers/${id}`);
      return response.body.status === status ? response.body : undefined;
    },
    { timeoutMs: 30_000, description: `driver ${id} ${status}` },
  );
}

async function historyOf(id: string): Promise<string[]> {
  const response = await fixture.api('GET', `/v1/drivers/${id}/events`);
  return (response.body.items as { type: string }[]).map((entry) => entry.type);
}

async function historyContains(id: string, type: string) {
  return eventually(async () => ((await historyOf(id)).includes(type) ? true : undefined), {
    timeoutMs: 30_000,
    description: `${type} in the history of ${id}`,
  });
}

describe('saga paths end to end, with identity on (a fake of) Microsoft Graph', () => {
  it('activates a driver with a B2C account carrying the DRIVER role', async () => {
    const response = await fixture.register(1, 'graph-happy');
    const driver = await driverStatus(response.body.id as string, 'ACTIVE');
    const [user] = graph.findByEmail(driver.email as string);
    expect(user?.id).toBe(driver.b2cObjectId);
    expect(user?.extension_3fa85f6457174562b3fc2c963f66afa6_Role).toBe('DRIVER');
    await eventually(() => fixture.mail.mailsTo(driver.email as string).length === 1, { description: 'welcome mail' });
  });

  it('fails the driver when the directory refuses the account, alerts the admins and sends no welcome mail', async () => {
    const email = 'driver.graph-refused.1@example.com';
    graph.seed(email);
    const response = await fixture.register(1, 'graph-refused');
    const id = response.body.id as string;
    const driver = await driverStatus(id, 'FAILED');
    expect(driver.failureReason).toMatch(/already exists/);
    const alerts = await eventually(
      async () => {
        const found = await fixture.notificationsFor(id);
        return found.length > 0 ? found : undefined;
      },
      { description: 'the admin alert' },
    );
    expect(alerts).toEqual([expect.objectContaining({ type: 'driver.registration-failed' })]);
    expect(await historyOf(id)).toEqual(['registered', 'registration-failed']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fixture.mail.mailsTo(email)).toHaveLength(0);
    expect(graph.findByEmail(email)).toHaveLength(1); // only the pre-existing account
  });

  it('compensates an account created for a driver deleted while PENDING', async () => {
    // The directory is slow: the delete wins the race. Two calls, for the v1 and v2 copies of the registration.
    graph.failNext(2, { status: 0, delayMs: 1_500 });
    const response = await fixture.register(1, 'graph-deleted');
    const id = response.body.id as string;
    const deleted = await fixture.api('DELETE', `/v1/drivers/${id}`);
    expect(deleted.body.status).toBe('DELETED');
    await historyContains(id, 'account-deleted');
    expect(await historyOf(id)).toEqual(['registered', 'deleted', 'activation-rejected', 'account-deleted']);
    expect(graph.findByEmail('driver.graph-deleted.1@example.com')).toHaveLength(0);
    expect((await fixture.api('GET', `/v1/identity/accounts/${id}`)).status).toBe(404);
    expect(fixture.mail.mailsTo('driver.graph-deleted.1@example.com')).toHaveLength(0);
  });

  it('times a registration out, alerts the admins, and deletes the account that arrives late', async () => {
    graph.failNext(2, { status: 0, delayMs: SAGA_TIMEOUT_MS + 1_500 });
    const response = await fixture.register(1, 'graph-timeout');
    const id = response.body.id as string;
    const driver = await driverStatus(id, 'FAILED');
    expect(driver.failureReason).toBe('timeout');
    await historyContains(id, 'account-deleted');
    expect(await historyOf(id)).toEqual(['registered', 'registration-failed', 'activation-rejected', 'account-deleted']);
    expect(graph.findByEmail('driver.graph-timeout.1@example.com')).toHaveLength(0);
    const alerts = await fixture.notificationsFor(id);
    const mentionsTimeout: unknown = expect.stringContaining('timeout'); // @types/jest types its asymmetric matchers as any
    expect(alerts).toEqual([expect.objectContaining({ type: 'driver.registration-failed', message: mentionsTimeout })]);
  });

  it('carries an update to the B2C account, ignores a stale one, and deletes the account with the driver', async () => {
    const response = await fixture.register(2, 'graph-lifecycle');
    const id = response.body.id as string;
    const active = await driverStatus(id, 'ACTIVE');
    const objectId = active.b2cObjectId as string;

    const updated = await fixture.api('PATCH', `/v1/drivers/${id}`, { version: 2, firstName: 'Renamed', phone: '+1 555 0777' });
    expect(updated.status).toBe(200);
    expect((await fixture.api('PATCH', `/v1/drivers/${id}`, { version: 2, firstName: 'Stale' })).status).toBe(409);
    await eventually(() => graph.users.get(objectId)?.givenName === 'Renamed', { description: 'the B2C account updated' });
    expect(graph.users.get(objectId)).toMatchObject({ displayName: 'Renamed Number 2', mobilePhone: '+1 555 0777' });
    await historyContains(id, 'account-updated');

    const deleted = await fixture.api('DELETE', `/v1/drivers/${id}`);
    expect(deleted.body.status).toBe('DELETED');
    await eventually(() => !graph.users.has(objectId), { description: 'the B2C account deleted' });
    await historyContains(id, 'account-deleted');
    expect(await historyOf(id)).toEqual(['registered', 'activated', 'updated', 'account-updated', 'deleted', 'account-deleted']);
  });
});
