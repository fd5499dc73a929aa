import { randomUUID } from 'node:crypto';
import {
  IdentityAccountCreatedV1,
  IdentityAccountCreationFailedV1,
  IdentityDriverDataErasedV1,
  MailerDriverDataErasedV1,
  NotificationDriverDataErasedV1,
  createEnvelope,
  service as serviceEntry,
  type ErasureView,
  type EventContract,
  type EventData,
} from '@onboarding/contracts';
import { DOMAIN_EXCHANGE, listParked, platformParkedTables, type ParkedMessage } from '@onboarding/messaging';
import fc from 'fast-check';
import { brokenEscapes, componentUnderTest, eventually, hostileCursors, hostileIds, queryValue } from '@onboarding/test-infra';
import { driverService } from '../src';

const SAGA_TIMEOUT_MS = 4_000;
const DRIVER_QUEUE = serviceEntry('driver').queue;
const service = componentUnderTest(driverService, {
  probeExchange: DOMAIN_EXCHANGE,
  env: { SAGA_TIMEOUT_MS: String(SAGA_TIMEOUT_MS), SAGA_SWEEP_INTERVAL_MS: '200' },
});

let counter = 0;
function newDriver(overrides: Record<string, string> = {}) {
  counter += 1;
  return {
    firstName: 'Grace',
    lastName: 'Hopper',
    email: `grace.${counter}.${randomUUID().slice(0, 8)}@example.com`,
    phone: '+1 555 0100',
    ...overrides,
  };
}

/** The fields these tests read from the driver API's answers: a driver, a page (of drivers or of history), a problem, readiness. */
interface ApiBody {
  id: string;
  email: string;
  /** A driver's status, or a problem's HTTP status. */
  status: string | number;
  type: string;
  version: number;
  items: { id: string; type: string; actor?: string }[];
  nextCursor: string | null;
  errors: { path: string }[];
  checks: Record<string, string>;
  details: Record<string, string>;
}

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${service.baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as ApiBody };
}

/** The headers the gateway sets for a caller it verified (what it forwards, after stripping a client's copies). */
const asCaller = (subject: string, role: 'admin' | 'dispatcher') => ({ 'x-auth-subject': subject, 'x-auth-role': role });

async function register(overrides: Record<string, string> = {}, headers: Record<string, string> = {}) {
  const response = await api('POST', '/v1/drivers', newDriver(overrides), headers);
  expect(response.status).toBe(202);
  return response.body as { id: string; email: string; status: string };
}

async function deliver<C extends EventContract>(contract: C, data: EventData<C>, subject: string) {
  const envelope = createEnvelope(contract, data, { source: 'identity', subject, correlationId: randomUUID() });
  await service.probe.publish(contract.routingKey, envelope, { messageId: envelope.id });
  return envelope;
}

describe('driver service over HTTP', () => {
  it('registers a driver as PENDING, answers 202 with its location, and announces it through the outbox', async () => {
    const correlationId = randomUUID();
    const response = await api('POST', '/v1/drivers', newDriver({ email: 'Mixed.Case@Example.com' }), {
      'x-correlation-id': correlationId,
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/v1/drivers/${response.body.id}`);
    expect(response.body).toMatchObject({ status: 'PENDING', email: 'mixed.case@example.com', version: 1 });

    // Both major versions go out side by side while consumers migrate from v1 to v2.
    const published = await eventually(
      () => {
        const copies = service.probe.ofType('driver.registered').filter((m) => m.body.subject === response.body.id);
        return copies.length === 2 ? copies : undefined;
      },
      { description: 'driver.registered v1 and v2' },
    );
    expect(published.map((message) => message.routingKey).sort()).toEqual(['driver.registered.v1', 'driver.registered.v2']);
    for (const message of published) {
      expect(message.body).toMatchObject({ specversion: '1.0', source: 'driver', correlationid: correlationId });
      expect(message.body.data).toMatchObject({ driverId: response.body.id, email: 'mixed.case@example.com', version: 1 });
    }
    const v2 = published.find((message) => message.routingKey === 'driver.registered.v2')!;
    expect(v2.body).toMatchObject({ dataversion: 2 });
    expect(v2.body.data).toMatchObject({ preferredLanguage: 'en' });
    expect(published.find((message) => message.routingKey === 'driver.registered.v1')!.body.data).not.toHaveProperty('preferredLanguage');

    const read = await api('GET', `/v1/drivers/${response.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.status).toBe('PENDING');
  });

  it('answers 400 problem+json listing every invalid field', async () => {
    const response = await api('POST', '/v1/drivers', { firstName: '', email: 'nope', phone: 'x', extra: true });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status: 400, type: '/problems/validation-failed' });
    const paths = response.body.errors.map((error) => error.path);
    expect(paths).toEqual(expect.arrayContaining(['/firstName', '/lastName', '/email', '/phone']));
  });

  it('answers 400 for malformed JSON and unknown ids in the wrong shape, 404 for unknown drivers', async () => {
    expect((await api('POST', '/v1/drivers', '{"firstName":')).status).toBe(400);
    expect((await api('GET', '/v1/drivers/not-a-uuid')).status).toBe(400);
    const missing = await api('GET', `/v1/drivers/${randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.type).toBe('/problems/not-found');
  });

  it('answers 409 for an address a live driver holds, whatever its case, even under concurrent attempts', async () => {
    const first = await register();
    const again = await api('POST', '/v1/drivers', newDriver({ email: first.email.toUpperCase() }));
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('/problems/email-taken');

    const email = `race.${randomUUID()}@example.com`;
    const attempts = await Promise.all(Array.from({ length: 8 }, () => api('POST', '/v1/drivers', newDriver({ email }))));
    const statuses = attempts.map((attempt) => attempt.status).sort();
    expect(statuses.filter((status) => status === 202)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(7);
  });

  it('pages through drivers with an opaque cursor', async () => {
    for (let i = 0; i < 3; i += 1) await register();
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await api(
        'GET',
        `/v1/drivers?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      page.body.items.forEach((item) => seen.add(item.id));
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 100);
    const total = await api('GET', '/v1/drivers?limit=100');
    expect(seen.size).toBe(total.body.items.length);
    expect((await api('GET', '/v1/drivers?limit=0')).status).toBe(400);
    expect((await api('GET', '/v1/drivers?cursor=garbage')).status).toBe(400);
  });

  it('filters the list by status and by a piece of a name or address, paging within the filtered list', async () => {
    // A marker no other test's driver carries, with LIKE's wildcards in it: they must match themselves.
    const marker = `Zq%_${randomUUID().slice(0, 6)}`;
    const named = [];
    for (let i = 0; i < 3; i += 1) named.push(await register({ lastName: `${marker}-${i}` }));
    const byAddress = await register({ email: `${marker.slice(4).toLowerCase()}.x@example.com` });
    const active = named[0]!;
    await deliver(
      IdentityAccountCreatedV1,
      { driverId: active.id, objectId: randomUUID(), provider: 'local', createdAt: new Date().toISOString() },
      active.id,
    );
    await eventually(async () => ((await api('GET', `/v1/drivers/${active.id}`)).body.status === 'ACTIVE' ? true : undefined), {
      description: 'the first driver ACTIVE',
    });

    const ids = async (query: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 20; pages += 1) {
        const page = await api('GET', `/v1/drivers?limit=1&${query}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.items.map((item) => item.id));
        cursor = page.body.nextCursor;
        if (!cursor) break;
      }
      return seen;
    };
    const q = encodeURIComponent(marker.toUpperCase());
    expect(await ids(`q=${q}`)).toEqual(named.map((driver) => driver.id));
    expect(await ids(`q=${q}&status=ACTIVE`)).toEqual([active.id]);
    expect(await ids(`q=${q}&status=PENDING`)).toEqual([named[1]!.id, named[2]!.id]);
    expect(await ids(`q=${encodeURIComponent(marker.slice(4))}`)).toEqual([...named, byAddress].map((driver) => driver.id));
    // The wildcards are literal: '%_' finds the names that hold it, not every name of one character or more.
    expect(await ids(`q=${encodeURIComponent('%_')}&status=PENDING`)).toEqual([named[1]!.id, named[2]!.id]);
    expect(await ids('q=no-such-driver-anywhere')).toEqual([]);
    // Newest first is the exact reverse, paged the same way (the console lists so, to show new drivers on top).
    expect(await ids(`q=${encodeURIComponent(marker.slice(4))}&order=newest`)).toEqual([...named, byAddress].reverse().map((driver) => driver.id));
    expect(await ids(`q=${q}&status=PENDING&order=newest`)).toEqual([named[2]!.id, named[1]!.id]);
    // A cursor pages only in the order it was issued for: in the other it would skip or repeat drivers.
    const oldestCursor = (await api('GET', `/v1/drivers?limit=1&q=${q}`)).body.nextCursor!;
    const newestCursor = (await api('GET', `/v1/drivers?limit=1&q=${q}&order=newest`)).body.nextCursor!;
    for (const crossed of [`order=newest&cursor=${oldestCursor}`, `order=oldest&cursor=${newestCursor}`, `cursor=${newestCursor}`]) {
      const response = await api('GET', `/v1/drivers?q=${q}&${crossed}`);
      expect(response.status).toBe(400);
      expect(response.body.type).toBe('/problems/invalid-cursor');
    }

    for (const bad of ['status=ASLEEP', 'status=', 'q=', `q=${'x'.repeat(101)}`, 'q=%20%20', 'colour=red', 'order=random', 'order=']) {
      const response = await api('GET', `/v1/drivers?${bad}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });
});

describe('driver service under crafted input', () => {
  /** Any error must be the client's (4xx) and problem+json: a 500 here would count against the service upstream. */
  function expectClientError(response: Awaited<ReturnType<typeof api>>, allowed: number[]) {
    expect(allowed).toContain(response.status);
    if (response.status >= 400) expect(response.headers.get('content-type')).toContain('application/problem+json');
  }

  it('answers 400 invalid-cursor for a well-formed cursor with a bad inner id, one of another list and garbage', async () => {
    for (let i = 0; i < 2; i += 1) await register();
    const issued = (await api('GET', '/v1/drivers?limit=1')).body.nextCursor!;
    const fields = JSON.parse(Buffer.from(issued, 'base64url').toString('utf8')) as unknown[];
    const forged = (replace: (field: unknown) => unknown) => Buffer.from(JSON.stringify(fields.map(replace))).toString('base64url');
    const notAnId = forged((field) => (field === fields[fields.length - 1] ? 'not-a-uuid' : field));
    const fromNotifications = forged((field) => (field === 'drivers' ? 'notifications' : field));
    for (const cursor of [notAnId, fromNotifications, 'garbage', Buffer.from('[1,2,3]').toString('base64url')]) {
      const response = await api('GET', `/v1/drivers?cursor=${queryValue(cursor)}`);
      expectClientError(response, [400]);
      expect(response.body.type).toBe('/problems/invalid-cursor');
    }
  });

  it('answers 400 naming the field for text PostgreSQL cannot store (U+0000, an unpaired surrogate)', async () => {
    for (const [field, value] of [
      ['firstName', 'Ada\u0000'],
      ['lastName', '\ud800'],
    ] as const) {
      const response = await api('POST', '/v1/drivers', newDriver({ [field]: value }));
      expectClientError(response, [400]);
      expect(response.body.errors.map((error) => error.path)).toEqual([`/${field}`]);
    }
  });

  it('never answers 5xx to any id or cursor (property-based)', async () => {
    const issued = (await api('GET', '/v1/drivers?limit=1')).body.nextCursor!;
    await fc.assert(
      fc.asyncProperty(
        hostileIds,
        fc.oneof(
          hostileCursors(issued),
          brokenEscapes.map((escape) => ({ raw: escape })),
        ),
        fc.constantFrom('GET', 'GET-events', 'PATCH', 'DELETE'),
        async (id, cursor, operation) => {
          const path = `/v1/drivers/${queryValue(id)}`;
          const byId =
            operation === 'GET'
              ? await api('GET', path)
              : operation === 'GET-events'
                ? await api('GET', `${path}/events`)
                : operation === 'PATCH'
                  ? await api('PATCH', path, { version: 1, firstName: 'Ada' })
                  : await api('DELETE', path);
          expectClientError(byId, [400, 404, 414]);
          const query = typeof cursor === 'string' ? queryValue(cursor) : cursor.raw;
          expectClientError(await api('GET', `/v1/drivers?limit=2&cursor=${query}`), [200, 400]);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('driver service on identity events', () => {
  it("activates a PENDING driver when its account is created and announces driver.activated in the driver's language", async () => {
    const driver = await register({ preferredLanguage: 'fr' });
    const cause = await deliver(
      IdentityAccountCreatedV1,
      { driverId: driver.id, objectId: 'b2c-object-1', provider: 'local', createdAt: new Date().toISOString() },
      driver.id,
    );
    const activated = await eventually(() => service.probe.ofType('driver.activated').find((m) => m.body.subject === driver.id), {
      description: 'driver.activated',
    });
    expect(activated.body).toMatchObject({ causationid: cause.id, correlationid: cause.correlationid });
    expect(activated.body.data).toMatchObject({ b2cObjectId: 'b2c-object-1', version: 2, email: driver.email, preferredLanguage: 'fr' });
    const read = await api('GET', `/v1/drivers/${driver.id}`);
    expect(read.body).toMatchObject({ status: 'ACTIVE', b2cObjectId: 'b2c-object-1', version: 2 });
    const history = await api('GET', `/v1/drivers/${driver.id}/events`);
    expect(history.body.items.map((entry: { type: string }) => entry.type)).toEqual(['registered', 'activated']);
  });

  it('fails a PENDING driver when the directory refuses, then releases the address', async () => {
    const driver = await register();
    await deliver(
      IdentityAccountCreationFailedV1,
      { driverId: driver.id, code: 'account-exists', reason: 'An account with this email already exists', failedAt: new Date().toISOString() },
      driver.id,
    );
    const failed = await eventually(() => service.probe.ofType('driver.registration-failed').find((m) => m.body.subject === driver.id), {
      description: 'driver.registration-failed',
    });
    expect(failed.body.data).toMatchObject({ reason: 'An account with this email already exists', version: 2 });
    const read = await api('GET', `/v1/drivers/${driver.id}`);
    expect(read.body).toMatchObject({ status: 'FAILED', failureReason: 'An account with this email already exists' });
    expect((await api('POST', '/v1/drivers', newDriver({ email: driver.email }))).status).toBe(202);
  });

  it('does not activate a FAILED driver when a late account arrives, and records why', async () => {
    const driver = await register();
    await deliver(
      IdentityAccountCreationFailedV1,
      { driverId: driver.id, code: 'directory-unavailable', reason: 'gave up', failedAt: new Date().toISOString() },
      driver.id,
    );
    await eventually(async () => (await api('GET', `/v1/drivers/${driver.id}`)).body.status === 'FAILED', { description: 'FAILED' });
    await deliver(
      IdentityAccountCreatedV1,
      { driverId: driver.id, objectId: 'late-object', provider: 'local', createdAt: new Date().toISOString() },
      driver.id,
    );
    const history = await eventually(
      async () => {
        const response = await api('GET', `/v1/drivers/${driver.id}/events`);
        return response.body.items.some((entry: { type: string }) => entry.type === 'activation-rejected') ? response.body : undefined;
      },
      { description: 'activation-rejected in history' },
    );
    expect(history.items.map((entry: { type: string }) => entry.type)).toEqual(['registered', 'registration-failed', 'activation-rejected']);
    expect((await api('GET', `/v1/drivers/${driver.id}`)).body.status).toBe('FAILED');
    expect(service.probe.ofType('driver.activated').filter((m) => m.body.subject === driver.id)).toHaveLength(0);
  });

  it('applies a duplicated identity event once', async () => {
    const driver = await register();
    const envelope = createEnvelope(
      IdentityAccountCreatedV1,
      { driverId: driver.id, objectId: 'object-dup', provider: 'local', createdAt: new Date().toISOString() },
      { source: 'identity', subject: driver.id, correlationId: randomUUID() },
    );
    await service.probe.publish(IdentityAccountCreatedV1.routingKey, envelope);
    await service.probe.publish(IdentityAccountCreatedV1.routingKey, envelope);
    await eventually(async () => (await api('GET', `/v1/drivers/${driver.id}`)).body.status === 'ACTIVE', { description: 'ACTIVE' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(service.probe.ofType('driver.activated').filter((m) => m.body.subject === driver.id)).toHaveLength(1);
    expect((await api('GET', `/v1/drivers/${driver.id}`)).body.version).toBe(2);
  });

  it('is ready on its database alone, and shows its broker, consumer and relay as details', async () => {
    const ready = await api('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: 'up' });
    expect(Object.keys(ready.body.details).sort()).toEqual(['broker', 'consumer', 'relay']);
    expect(ready.body.details).toMatchObject({ broker: 'up', consumer: 'up' });
  });
});

async function activeDriver(headers: Record<string, string> = {}) {
  const driver = await register({}, headers);
  await deliver(
    IdentityAccountCreatedV1,
    { driverId: driver.id, objectId: `object-${driver.id}`, provider: 'local', createdAt: new Date().toISOString() },
    driver.id,
  );
  await eventually(async () => (await api('GET', `/v1/drivers/${driver.id}`)).body.status === 'ACTIVE', { description: 'ACTIVE' });
  return driver;
}

describe('driver lifecycle', () => {
  it('updates an ACTIVE driver at the version the client saw and announces driver.updated', async () => {
    const driver = await activeDriver();
    const response = await api('PATCH', `/v1/drivers/${driver.id}`, { version: 2, firstName: 'Amazing', phone: '+1 555 0199' });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe('"3"');
    expect(response.body).toMatchObject({ firstName: 'Amazing', phone: '+1 555 0199', version: 3 });
    const updated = await eventually(() => service.probe.ofType('driver.updated').find((m) => m.body.subject === driver.id), {
      description: 'driver.updated',
    });
    expect(updated.body.data).toMatchObject({ version: 3, firstName: 'Amazing', changed: ['firstName', 'phone'] });

    const stale = await api('PATCH', `/v1/drivers/${driver.id}`, { version: 2, lastName: 'Late' });
    expect(stale.status).toBe(409);
    expect(stale.body.type).toBe('/problems/stale-version');
    const unchanged = await api('PATCH', `/v1/drivers/${driver.id}`, { version: 3, firstName: 'Amazing' });
    expect(unchanged.body.version).toBe(3);
    expect((await api('PATCH', `/v1/drivers/${driver.id}`, { version: 3 })).status).toBe(400);
  });

  it("refuses a dispatcher's change of address with 403 and leaves the driver as it was; an admin's goes through", async () => {
    const driver = await activeDriver();
    const refused = await api(
      'PATCH',
      `/v1/drivers/${driver.id}`,
      { version: 2, email: `moved.${randomUUID()}@example.com`, firstName: 'Sneaky' },
      asCaller('dispatcher-1', 'dispatcher'),
    );
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ status: 403, type: '/problems/forbidden' });
    // Without the gateway's headers there is no role at all: refused too, never treated as an admin.
    expect((await api('PATCH', `/v1/drivers/${driver.id}`, { version: 2, email: `moved.${randomUUID()}@example.com` })).status).toBe(403);
    expect((await api('GET', `/v1/drivers/${driver.id}`)).body).toMatchObject({ email: driver.email, firstName: 'Grace', version: 2 });

    const renamed = await api('PATCH', `/v1/drivers/${driver.id}`, { version: 2, firstName: 'Amazing' }, asCaller('dispatcher-1', 'dispatcher'));
    expect(renamed.status).toBe(200);
    const email = `moved.${randomUUID()}@example.com`;
    const moved = await api('PATCH', `/v1/drivers/${driver.id}`, { version: 3, email }, asCaller('admin-1', 'admin'));
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ email, version: 4 });
  });

  it('records who made each change over HTTP in the history, and no actor for saga steps', async () => {
    const driver = await activeDriver(asCaller('dispatcher-7', 'dispatcher'));
    expect((await api('PATCH', `/v1/drivers/${driver.id}`, { version: 2, lastName: 'Murray' }, asCaller('dispatcher-8', 'dispatcher'))).status).toBe(
      200,
    );
    expect((await api('DELETE', `/v1/drivers/${driver.id}`, undefined, asCaller('admin-9', 'admin'))).status).toBe(200);
    const history = await api('GET', `/v1/drivers/${driver.id}/events`);
    expect(history.body.items.map(({ type, actor }) => ({ type, actor }))).toEqual([
      { type: 'registered', actor: 'dispatcher-7' },
      { type: 'activated', actor: undefined },
      { type: 'updated', actor: 'dispatcher-8' },
      { type: 'deleted', actor: 'admin-9' },
    ]);
  });

  it('lets exactly one of several concurrent updates at the same version win', async () => {
    const driver = await activeDriver();
    const attempts = await Promise.all(
      ['A', 'B', 'C', 'D', 'E'].map((name) => api('PATCH', `/v1/drivers/${driver.id}`, { version: 2, firstName: `Racer ${name}` })),
    );
    expect(attempts.filter((attempt) => attempt.status === 200)).toHaveLength(1);
    expect(attempts.filter((attempt) => attempt.status === 409)).toHaveLength(4);
    expect((await api('GET', `/v1/drivers/${driver.id}`)).body.version).toBe(3);
  });

  it("refuses to update a PENDING driver or to take a live driver's address", async () => {
    const pending = await register();
    expect((await api('PATCH', `/v1/drivers/${pending.id}`, { version: 1, firstName: 'Early' })).body.type).toBe('/problems/not-active');
    const active = await activeDriver();
    const taken = await api('PATCH', `/v1/drivers/${active.id}`, { version: 2, email: pending.email }, asCaller('admin-1', 'admin'));
    expect(taken.status).toBe(409);
    expect(taken.body.type).toBe('/problems/email-taken');
  });

  it('deletes a driver, announces driver.deleted and releases the address', async () => {
    const driver = await activeDriver();
    const response = await api('DELETE', `/v1/drivers/${driver.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'DELETED', version: 3 });
    const deleted = await eventually(() => service.probe.ofType('driver.deleted').find((m) => m.body.subject === driver.id), {
      description: 'driver.deleted',
    });
    expect(deleted.body.data).toMatchObject({ driverId: driver.id, version: 3 });
    expect((await api('DELETE', `/v1/drivers/${driver.id}`)).status).toBe(409);
    expect((await api('DELETE', `/v1/drivers/${randomUUID()}`)).status).toBe(404);
    expect((await api('POST', '/v1/drivers', newDriver({ email: driver.email }))).status).toBe(202);
  });

  it('rejects an account that arrives for a driver deleted while PENDING (compensation)', async () => {
    const driver = await register();
    expect((await api('DELETE', `/v1/drivers/${driver.id}`)).status).toBe(200);
    await deliver(
      IdentityAccountCreatedV1,
      { driverId: driver.id, objectId: 'orphan-object', provider: 'local', createdAt: new Date().toISOString() },
      driver.id,
    );
    const rejected = await eventually(() => service.probe.ofType('driver.activation-rejected').find((m) => m.body.subject === driver.id), {
      description: 'driver.activation-rejected',
    });
    expect(rejected.body.data).toMatchObject({ objectId: 'orphan-object', status: 'DELETED' });
  });

  it('fails a registration that stays PENDING past the deadline, then rejects the late account', async () => {
    const driver = await register();
    const failed = await eventually(() => service.probe.ofType('driver.registration-failed').find((m) => m.body.subject === driver.id), {
      timeoutMs: SAGA_TIMEOUT_MS + 10_000,
      description: 'the timeout',
    });
    expect(failed.body.data).toMatchObject({ reason: 'timeout', version: 2 });
    const registeredEvent = service.probe.ofType('driver.registered').find((m) => m.body.subject === driver.id);
    expect(failed.body.correlationid).toBe(registeredEvent?.body.correlationid);
    expect((await api('GET', `/v1/drivers/${driver.id}`)).body).toMatchObject({ status: 'FAILED', failureReason: 'timeout' });

    await deliver(
      IdentityAccountCreatedV1,
      { driverId: driver.id, objectId: 'late-object-2', provider: 'local', createdAt: new Date().toISOString() },
      driver.id,
    );
    const rejected = await eventually(() => service.probe.ofType('driver.activation-rejected').find((m) => m.body.subject === driver.id), {
      description: 'compensation',
    });
    expect(rejected.body.data).toMatchObject({ objectId: 'late-object-2', status: 'FAILED' });
  });
});

describe('erasure of a driver (admin only)', () => {
  const admin = asCaller('erasing-admin', 'admin');

  async function activeDriver() {
    const driver = await register();
    await deliver(
      IdentityAccountCreatedV1,
      { driverId: driver.id, objectId: `b2c-${driver.id}`, provider: 'local', createdAt: new Date().toISOString() },
      driver.id,
    );
    await eventually(async () => (await api('GET', `/v1/drivers/${driver.id}`)).body.status === 'ACTIVE', { description: 'ACTIVE' });
    return driver;
  }

  it('refuses a dispatcher (403), a PENDING driver (409) and an unknown one (404), and changes nothing', async () => {
    const pending = await register();
    expect((await api('POST', `/v1/drivers/${pending.id}/erasure`, undefined, asCaller('d', 'dispatcher'))).status).toBe(403);
    expect((await api('POST', `/v1/drivers/${pending.id}/erasure`)).status).toBe(403); // no verified caller, no role
    const refused = await api('POST', `/v1/drivers/${pending.id}/erasure`, undefined, admin);
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('/problems/pending');
    expect((await api('POST', `/v1/drivers/${randomUUID()}/erasure`, undefined, admin)).status).toBe(404);
    expect((await api('GET', `/v1/drivers/${pending.id}/erasure`, undefined, asCaller('d', 'dispatcher'))).status).toBe(403);
    expect((await api('GET', `/v1/drivers/${pending.id}/erasure`, undefined, admin)).status).toBe(404);
    expect((await api('GET', `/v1/drivers/${pending.id}`)).body.status).toBe('PENDING');
  });

  it('forgets the driver, announces driver.erased with ids only, clears its waiting messages and completes as services confirm', async () => {
    const driver = await activeDriver();
    const other = await activeDriver();
    // Parked: an identity event naming each driver that breaks its contract (no objectId) and quotes the address.
    const parkedId = new Map<string, string>();
    for (const { id, email } of [driver, other]) {
      const envelope = createEnvelope(
        IdentityAccountCreatedV1,
        { driverId: id, objectId: 'x', provider: 'local', createdAt: new Date().toISOString() },
        { source: 'identity', subject: id, correlationId: randomUUID() },
      );
      parkedId.set(id, envelope.id);
      await service.probe.publish(
        IdentityAccountCreatedV1.routingKey,
        { ...envelope, data: { driverId: id, provider: email } },
        { messageId: envelope.id },
      );
    }
    const parked = async () =>
      new Map(
        (await listParked({ ...platformParkedTables(service.databaseUrl), queues: [DRIVER_QUEUE] })).map((m): [string, ParkedMessage] => [
          m.messageId,
          m,
        ]),
      );
    await eventually(
      async () => {
        const rows = await parked();
        return rows.has(parkedId.get(driver.id)!) && rows.has(parkedId.get(other.id)!);
      },
      {
        description: 'both invalid events parked',
      },
    );

    const erased = await api('POST', `/v1/drivers/${driver.id}/erasure`, undefined, admin);
    expect(erased.status).toBe(202);
    expect(erased.headers.get('location')).toBe(`/v1/drivers/${driver.id}/erasure`);
    expect(erased.body).toMatchObject({ driverId: driver.id, status: 'IN_PROGRESS', requestedBy: 'erasing-admin' });

    const announced = await eventually(() => service.probe.ofType('driver.erased').find((m) => m.body.subject === driver.id), {
      description: 'driver.erased',
    });
    expect(Object.keys(announced.body.data ?? {}).sort()).toEqual(['driverId', 'erasedAt']);
    expect((await api('GET', `/v1/drivers/${driver.id}`)).status).toBe(404);
    expect((await api('GET', `/v1/drivers/${driver.id}/events`)).status).toBe(404);
    // Asking again answers the same record and announces nothing more.
    const again = await api('POST', `/v1/drivers/${driver.id}/erasure`, undefined, admin);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ driverId: driver.id, requestedBy: 'erasing-admin' });

    for (const contract of [IdentityDriverDataErasedV1, MailerDriverDataErasedV1, NotificationDriverDataErasedV1]) {
      await deliver(contract, { driverId: driver.id, erasedAt: new Date().toISOString(), removedMessages: 0 }, driver.id);
    }
    const complete = await eventually(
      async () => {
        const record = await api('GET', `/v1/drivers/${driver.id}/erasure`, undefined, admin);
        return record.body.status === 'COMPLETE' ? (record.body as unknown as ErasureView) : undefined;
      },
      { description: 'erasure COMPLETE' },
    );
    expect(complete.services.map((entry) => entry.service).sort()).toEqual(['driver', 'identity', 'mailer', 'notification']);
    expect(complete.services.find((entry) => entry.service === 'driver')?.removedMessages).toBe(1);
    expect(complete.completedAt).toBeDefined();
    expect(service.probe.ofType('driver.erased').filter((m) => m.body.subject === driver.id)).toHaveLength(1);

    // The erased driver's parked message keeps its scrubbed row but not its personal data; the other driver's keeps both.
    const left = await parked();
    expect(left.get(parkedId.get(driver.id)!)).toMatchObject({ hasPersonalData: true, personalDataKept: false });
    expect(left.get(parkedId.get(other.id)!)).toMatchObject({ hasPersonalData: true, personalDataKept: true });
    expect((await api('GET', `/v1/drivers/${other.id}`)).body.status).toBe('ACTIVE');
  });
});
