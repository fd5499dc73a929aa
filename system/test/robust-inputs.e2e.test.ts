import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import pg from 'pg';
import { SERVICES, service } from '@onboarding/contracts';
import { LocalPlatform } from '../src/local-platform/local-platform';

const platform = new LocalPlatform();

beforeAll(async () => {
  await platform.start('robust-inputs');
}, 120_000);

afterAll(async () => {
  await platform.stop();
});

// The gateway and every service it routes to (the mailer serves nothing but probes): each is sent requests directly.
const TARGETS = [service('gateway').name, ...SERVICES.filter((entry) => entry.routes.length > 0).map((entry) => entry.name)];
const PATHS = [
  '/v1/drivers',
  '/v1/drivers/{uuid}',
  '/v1/drivers/{uuid}/events',
  '/v1/drivers/{junk}',
  '/v1/identity/accounts/{uuid}',
  '/v1/identity/accounts/{junk}',
  '/v1/notifications',
  '/v1/notifications/{uuid}/read',
  '/{junk}',
];

const jsonish = fc.oneof(
  fc.json(),
  fc.string(),
  fc.record(
    {
      firstName: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      lastName: fc.oneof(fc.string(), fc.constant(undefined)),
      email: fc.oneof(fc.emailAddress(), fc.string()),
      phone: fc.oneof(fc.string(), fc.stringMatching(/^\+?[0-9 ()-]{7,20}$/)),
      version: fc.oneof(fc.integer(), fc.string()),
      preferredLanguage: fc.oneof(fc.constantFrom('en', 'de', 'xx'), fc.string()),
    },
    { requiredKeys: [] },
  ),
);

/** Registrations that are valid but for, sometimes, one field: the inputs most likely to half-succeed. */
const nearlyValidDriver = fc
  .record({
    firstName: fc.string({ minLength: 1, maxLength: 30 }).filter((name) => /\S/.test(name)),
    lastName: fc.string({ minLength: 1, maxLength: 30 }).filter((name) => /\S/.test(name)),
    email: fc.emailAddress(),
    phone: fc.stringMatching(/^\+?[0-9]{3}[ -]?[0-9]{4,8}$/),
    preferredLanguage: fc.constantFrom('en', 'de', 'fr', 'es'),
  })
  .chain((driver) =>
    fc.oneof(
      fc.constant(driver as Record<string, unknown>),
      fc
        .constantFrom('firstName', 'lastName', 'email', 'phone', 'preferredLanguage')
        .chain((field) => fc.oneof(fc.string(), fc.integer(), fc.constant(null)).map((value) => ({ ...driver, [field]: value }))),
    ),
  );

const request = fc.record({
  service: fc.constantFrom(...TARGETS),
  method: fc.oneof({ arbitrary: fc.constant('POST'), weight: 4 }, { arbitrary: fc.constantFrom('GET', 'PATCH', 'DELETE', 'PUT'), weight: 4 }),
  path: fc.oneof({ arbitrary: fc.constant('/v1/drivers'), weight: 4 }, { arbitrary: fc.constantFrom(...PATHS), weight: 5 }),
  junk: fc.string({ maxLength: 40 }),
  query: fc.dictionary(fc.constantFrom('limit', 'cursor', 'recipient', 'x'), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
  body: fc.option(fc.oneof({ arbitrary: nearlyValidDriver, weight: 3 }, { arbitrary: jsonish, weight: 2 }), { nil: undefined }),
  contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1'),
  headerValue: fc.string({ maxLength: 30 }),
  rawBody: fc.boolean(),
});

describe('robust inputs: random and malformed requests at the gateway and the services', () => {
  it('never answer 5xx, never crash, never write partially', async () => {
    let accepted = 0;
    const counts: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(request, async (input) => {
        const base = platform.system.url(input.service);
        const path = input.path.replace('{uuid}', '00000000-0000-4000-8000-000000000000').replace('{junk}', encodeURIComponent(input.junk));
        const query = new URLSearchParams(input.query).toString();
        const adminHeaders = input.service === 'gateway' ? await platform.authorization() : {};
        const body =
          input.body === undefined || input.method === 'GET' || input.method === 'DELETE'
            ? undefined
            : input.rawBody
              ? String(JSON.stringify(input.body)).slice(0, -1)
              : JSON.stringify(input.body);
        const response = await fetch(`${base}${path}${query ? `?${query}` : ''}`, {
          method: input.method,
          headers: {
            ...adminHeaders,
            ...(body !== undefined ? { 'content-type': input.contentType } : {}),
            'x-request-id': input.headerValue.replace(/[^\x20-\x7e]/g, ''),
            'x-correlation-id': input.headerValue.replace(/[^\x20-\x7e]/g, ''),
          },
          body,
        });
        await response.arrayBuffer();
        counts[response.status] = (counts[response.status] ?? 0) + 1;
        if (response.status === 202) accepted += 1;
        if (response.status >= 400) expect(response.headers.get('content-type')).toContain('application/problem+json');
        return response.status < 500;
      }),
      { numRuns: 2000, seed: 20261121 },
    );
    console.log(`robust inputs: ${JSON.stringify(counts)}`);

    for (const target of TARGETS) expect((await fetch(`${platform.system.url(target)}/readyz`)).status).toBe(200);
    // Every accepted registration is whole: the driver, its history and its events; nothing else was written.
    const client = new pg.Client({ connectionString: platform.databaseUrl });
    await client.connect();
    try {
      const count = async (sql: string) => Number((await client.query<{ count: string }>(sql)).rows[0]?.count);
      const drivers = await count('select count(*) from driver.driver');
      const history = await count(`select count(*) from driver.driver_history where type = 'registered'`);
      const events = await count(`select count(*) from driver.outbox where type = 'driver.registered'`);
      expect(accepted).toBeGreaterThan(10);
      expect(drivers).toBe(accepted);
      expect(history).toBe(drivers);
      expect(events).toBe(drivers * 2); // v1 and v2
    } finally {
      await client.end();
    }
    for (const target of TARGETS) {
      const log = readFileSync(platform.system.logFile(target), 'utf8');
      expect(log).not.toMatch(/"level":(50|60)/); // no error or fatal logged
    }
  }, 240_000);
});
