import { randomUUID } from 'node:crypto';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { SignJWT } from 'jose';
import { Validator } from '@seriousme/openapi-schema-validator';
import { loadGatewayConfig, signDevToken, type Role } from '@onboarding/gateway';
import { eventually, metricValue, scrapeMetrics } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

/**
 * The public OpenAPI document against what the platform really answers: the document the running gateway
 * serves is validated against the official OpenAPI schema, then every documented operation is driven through
 * the real gateway and services into each status it can be provoked into, and every answer must be a
 * documented status, in a documented media type, with a body valid against the documented schema.
 */

const RATE_LIMIT_MAX = 100;
const UPSTREAM_TIMEOUT_MS = 2_000;
const BODY_LIMIT = 1024 * 1024;

type Method = 'get' | 'post' | 'patch' | 'delete';
interface MediaType {
  schema?: Record<string, unknown>;
}
interface Operation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Partial<Record<Method, Operation>>>;
}

const platform = new LocalPlatform();
const config = loadGatewayConfig({});
let document: OpenApiDocument;
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const validators = new Map<string, ValidateFunction>();
/** `METHOD /path/template` → the statuses the test has seen it answer (each checked against the document). */
const seen = new Map<string, Set<number>>();

const token = (role: Role, subject: string) =>
  signDevToken({ secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, role, subject });
/** A valid token whose only role is none the API knows: authenticated, never authorised. */
const roleless = (subject: string) =>
  new SignJWT({ roles: ['viewer'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(config.JWT_SECRET));

interface Call {
  token?: string;
  /** Sent as JSON unless `raw` is given. */
  json?: unknown;
  raw?: { contentType: string; body: string };
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** Fills a path template: `/v1/drivers/{id}` with `{ id }`. */
function pathOf(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(params[name] ?? ''));
}

/**
 * One request through the gateway to a documented operation; the answer is checked against the document before
 * it is returned: a documented status, a documented media type, and a body its schema accepts.
 */
async function call(method: Method, template: string, params: Record<string, string> = {}, options: Call = {}, query = ''): Promise<Answer> {
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  let body: string | undefined;
  if (options.raw) {
    headers['content-type'] = options.raw.contentType;
    body = options.raw.body;
  } else if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await fetch(`${platform.system.gatewayUrl}${pathOf(template, params)}${query}`, {
    method: method.toUpperCase(),
    headers,
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  const answer: Answer = { status: response.status, headers: response.headers, body: {} };
  expectDocumented(method, template, answer, text);
  return answer;
}

/** The status of a checked call, for the many cases where that is all there is to assert. */
async function statusOf(method: Method, template: string, params: Record<string, string>, options: Call, query = ''): Promise<number> {
  return (await call(method, template, params, options, query)).status;
}

/** A body in a media type no service reads (fastify reads JSON and plain text). */
const xml = (body: string) => ({ raw: { contentType: 'application/xml', body } });
/** A body over the gateway's limit, sent as JSON with a declared length. */
const oversized = { json: { padding: 'x'.repeat(BODY_LIMIT) } };

function expectDocumented(method: Method, template: string, answer: Answer, text: string): void {
  const name = `${method.toUpperCase()} ${template}`;
  const operation = document.paths[template]?.[method];
  if (!operation) throw new Error(`${name} is not in the OpenAPI document`);
  const documented = operation.responses[String(answer.status)];
  if (!documented) {
    throw new Error(
      `${name} answered ${answer.status}, which the document does not list (it lists ${Object.keys(operation.responses).join(', ')}): ${text}`,
    );
  }
  const mediaType = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const content = documented.content?.[mediaType];
  if (!content) {
    throw new Error(
      `${name} answered ${answer.status} as ${mediaType}; the document says ${Object.keys(documented.content ?? {}).join(', ') || 'no body'}`,
    );
  }
  if (mediaType.endsWith('json')) {
    answer.body = JSON.parse(text) as Record<string, unknown>;
    const key = `${name} ${answer.status} ${mediaType}`;
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile(content.schema ?? {});
      validators.set(key, validate);
    }
    if (!validate(answer.body)) {
      throw new Error(`${name} answered ${answer.status} with a body its documented schema refuses: ${ajv.errorsText(validate.errors)}\n${text}`);
    }
    if (mediaType === 'application/problem+json') expect(answer.body.status).toBe(answer.status);
  }
  const statuses = seen.get(name) ?? new Set<number>();
  statuses.add(answer.status);
  seen.set(name, statuses);
}

/** Every operation in the document with a path to call it at; ids that exist do not matter for refusals. */
function everyOperation(): { method: Method; template: string }[] {
  return Object.entries(document.paths).flatMap(([template, item]) =>
    (['get', 'post', 'patch', 'delete'] as const).filter((method) => item[method]).map((method) => ({ method, template })),
  );
}
const anyIds = { id: randomUUID(), driverId: randomUUID() };

beforeAll(async () => {
  await platform.start('openapi', {
    env: { RATE_LIMIT_MAX: String(RATE_LIMIT_MAX), UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS), UPSTREAM_BREAKER_RESET_MS: '60000' },
  });
  const served = await fetch(`${platform.system.gatewayUrl}/docs/json`);
  expect(served.status).toBe(200);
  const validator = new Validator();
  const validity = await validator.validate((await served.json()) as Record<string, unknown>);
  expect(validity.errors).toBeUndefined();
  // Every `$ref` replaced by what it points at, so each response schema compiles on its own.
  document = validator.resolveRefs() as unknown as OpenApiDocument;
}, 120_000);

afterAll(async () => {
  await platform.stop();
});

describe('the OpenAPI document the gateway serves, against real answers (six processes)', () => {
  it('is valid against the official OpenAPI schema of the version it declares', () => {
    expect(document.openapi).toMatch(/^3\.1\./);
  });

  it('documents every answer to every operation: successes, refusals of bad input, conflicts and missing things', async () => {
    const admin = await token('admin', 'openapi-admin');
    const dispatcher = await token('dispatcher', 'openapi-dispatcher');
    const as = { token: admin };
    const registration = { firstName: 'Open', lastName: 'Api', email: `openapi.${randomUUID()}@example.com`, phone: '+44 20 7946 0000' };

    // Registration: accepted, then refused as invalid, as broken JSON, in a media type no service reads, as too
    // large, and for an address already taken.
    const registered = await call('post', '/v1/drivers', {}, { ...as, json: registration });
    expect(registered.status).toBe(202);
    const id = registered.body.id as string;
    expect(registered.headers.get('location')).toBe(`/v1/drivers/${id}`);
    expect(await statusOf('post', '/v1/drivers', {}, { ...as, json: { ...registration, email: 'nope', phone: '' } })).toBe(400);
    expect(await statusOf('post', '/v1/drivers', {}, { ...as, raw: { contentType: 'application/json', body: '{"firstName":' } })).toBe(400);
    expect(await statusOf('post', '/v1/drivers', {}, { ...as, ...xml('<driver/>') })).toBe(415);
    expect(await statusOf('post', '/v1/drivers', {}, { ...as, ...oversized })).toBe(413);
    expect(await statusOf('post', '/v1/drivers', {}, { ...as, json: registration })).toBe(409);

    // The saga activates the driver; polled at the driver service itself, to keep the gateway's counts to the test's calls.
    await eventually(
      async () => ((await (await fetch(`${platform.system.url('driver')}/v1/drivers/${id}`)).json()) as { status: string }).status === 'ACTIVE',
      { timeoutMs: 30_000, description: `driver ${id} ACTIVE` },
    );

    // Reading: found, a malformed id, a missing driver; a page, and bad paging input.
    for (const template of ['/v1/drivers/{id}', '/v1/drivers/{id}/events']) {
      expect(await statusOf('get', template, { id }, as)).toBe(200);
      expect(await statusOf('get', template, { id: 'not-a-uuid' }, as)).toBe(400);
      expect(await statusOf('get', template, { id: randomUUID() }, as)).toBe(404);
    }
    expect(await statusOf('get', '/v1/drivers', {}, as, '?limit=1')).toBe(200);
    for (const query of ['?limit=0', '?cursor=not-one-we-issued', '?colour=blue'])
      expect(await statusOf('get', '/v1/drivers', {}, as, query)).toBe(400);

    // Changing: accepted; then a stale version, a dispatcher changing the address, nothing to change, a malformed
    // id, a missing driver, a media type no service reads, a body too large.
    const driver = '/v1/drivers/{id}';
    const changed = await call('patch', driver, { id }, { ...as, json: { version: 2, firstName: 'Changed' } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).toBe('"3"');
    expect(await statusOf('patch', driver, { id }, { ...as, json: { version: 2, firstName: 'Stale' } })).toBe(409);
    const addressChange = { version: 3, email: `moved.${randomUUID()}@example.com` };
    expect(await statusOf('patch', driver, { id }, { token: dispatcher, json: addressChange })).toBe(403);
    expect(await statusOf('patch', driver, { id }, { ...as, json: { version: 3 } })).toBe(400);
    expect(await statusOf('patch', driver, { id: 'not-a-uuid' }, { ...as, json: { version: 3, firstName: 'X' } })).toBe(400);
    expect(await statusOf('patch', driver, { id: randomUUID() }, { ...as, json: { version: 1, firstName: 'X' } })).toBe(404);
    expect(await statusOf('patch', driver, { id }, { ...as, ...xml('<version>3</version>') })).toBe(415);
    expect(await statusOf('patch', driver, { id }, { ...as, ...oversized })).toBe(413);

    // The directory account the saga made.
    const account = '/v1/identity/accounts/{driverId}';
    expect(await statusOf('get', account, { driverId: id }, as)).toBe(200);
    expect(await statusOf('get', account, { driverId: 'not-a-uuid' }, as)).toBe(400);
    expect(await statusOf('get', account, { driverId: randomUUID() }, as)).toBe(404);

    // Notifications: the admins' notice of this activation, marking it read, and refusals.
    const notification = await eventually(
      async () => {
        const listed = await call('get', '/v1/notifications', {}, as, '?limit=5');
        return (listed.body.items as { id: string; driverId: string }[]).find((item) => item.driverId === id);
      },
      { timeoutMs: 15_000, intervalMs: 500, description: 'the admin notification of the activation' },
    );
    for (const query of ['?limit=1000', '?recipient=not-an-address']) expect(await statusOf('get', '/v1/notifications', {}, as, query)).toBe(400);
    const read = '/v1/notifications/{id}/read';
    expect(await statusOf('post', read, { id: notification.id }, as)).toBe(200);
    expect(await statusOf('post', read, { id: 'not-a-uuid' }, as)).toBe(400);
    expect(await statusOf('post', read, { id: randomUUID() }, as)).toBe(404);
    expect(await statusOf('post', read, { id: notification.id }, { ...as, raw: { contentType: 'application/json', body: '' } })).toBe(400);
    expect(await statusOf('post', read, { id: notification.id }, { ...as, ...xml('<read/>') })).toBe(415);
    expect(await statusOf('post', read, { id: notification.id }, { ...as, ...oversized })).toBe(413);

    // The live stream: its status and media type (the first bytes are enough; it never ends by itself).
    const stream = await fetch(`${platform.system.gatewayUrl}/v1/notifications/stream`, { headers: { authorization: `Bearer ${admin}` } });
    expect(stream.status).toBe(200);
    expectDocumented('get', '/v1/notifications/stream', { status: stream.status, headers: stream.headers, body: {} }, '');
    await stream.body?.cancel();
    // Resuming from an id the stream never sent.
    const badResume = await fetch(`${platform.system.gatewayUrl}/v1/notifications/stream`, {
      headers: { authorization: `Bearer ${admin}`, 'last-event-id': 'not-a-position' },
      signal: AbortSignal.timeout(15_000),
    });
    expect(badResume.status).toBe(400);
    const badResumeText = await badResume.text();
    expectDocumented('get', '/v1/notifications/stream', { status: 400, headers: badResume.headers, body: {} }, badResumeText);

    // Operations: the registration's timeline once every step reached the audit; refusals; the system overview.
    const timeline = '/v1/operations/registrations/{driverId}/timeline';
    await eventually(async () => (await call('get', timeline, { driverId: id }, as)).body.complete === true, {
      timeoutMs: 15_000,
      intervalMs: 500,
      description: 'a complete timeline',
    });
    expect(await statusOf('get', timeline, { driverId: 'not-a-uuid' }, as)).toBe(400);
    expect(await statusOf('get', timeline, { driverId: randomUUID() }, as)).toBe(404);
    expect(await statusOf('get', '/v1/operations/overview', {}, as, '?bucket=15m')).toBe(200);
    for (const query of ['?bucket=2h', '?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', '?colour=blue'])
      expect(await statusOf('get', '/v1/operations/overview', {}, as, query)).toBe(400);
    // Parked messages and operator actions: listed; each action as a dry run on a group that selects nothing; refused
    // for a malformed body, an id without its service, a media type no service reads, a body too large.
    expect(await statusOf('get', '/v1/operations/parked', {}, as)).toBe(200);
    expect(await statusOf('get', '/v1/operations/parked', {}, as, '?state=lost')).toBe(400);
    expect(await statusOf('get', '/v1/operations/parked/messages', {}, as, '?service=driver&limit=5')).toBe(200);
    expect(await statusOf('get', '/v1/operations/parked/messages', {}, as, '?state=open')).toBe(400); // no service
    for (const action of ['replay', 'archive', 'restore']) {
      const path = `/v1/operations/parked/${action}`;
      expect(await statusOf('post', path, {}, { ...as, json: { reason: 'openapi-selects-nothing', dryRun: true } })).toBe(200);
      expect(await statusOf('post', path, {}, { ...as, json: { id: '1' } })).toBe(400);
      expect(await statusOf('post', path, {}, { ...as, ...xml('<act/>') })).toBe(415);
      expect(await statusOf('post', path, {}, { ...as, ...oversized })).toBe(413);
    }
    expect(await statusOf('get', '/v1/operations/actions', {}, as, '?limit=5')).toBe(200);
    expect(await statusOf('get', '/v1/operations/actions', {}, as, '?limit=0')).toBe(400);

    // Deleting: refused in a media type no service reads and as too large; done; done already; malformed; missing.
    expect(await statusOf('delete', driver, { id }, { ...as, ...xml('<bye/>') })).toBe(415);
    expect(await statusOf('delete', driver, { id }, { ...as, ...oversized })).toBe(413);
    expect(await statusOf('delete', driver, { id }, as)).toBe(200);
    expect(await statusOf('delete', driver, { id }, as)).toBe(409);
    expect(await statusOf('delete', driver, { id: 'not-a-uuid' }, as)).toBe(400);
    expect(await statusOf('delete', driver, { id: randomUUID() }, as)).toBe(404);
    // A deleted driver is no longer ACTIVE: a change is a conflict.
    expect(await statusOf('patch', driver, { id }, { ...as, json: { version: 4, firstName: 'Late' } })).toBe(409);

    // Erasure (admin only): nothing asked yet; started; asked again; read; refused to a dispatcher, for a malformed
    // id, a missing driver, a body that is not JSON, in a media type no service reads, too large.
    const erasure = '/v1/drivers/{id}/erasure';
    expect(await statusOf('get', erasure, { id }, as)).toBe(404);
    expect(await statusOf('post', erasure, { id }, { token: dispatcher })).toBe(403);
    expect(await statusOf('get', erasure, { id }, { token: dispatcher })).toBe(403);
    expect(await statusOf('post', erasure, { id }, { ...as, ...xml('<erase/>') })).toBe(415);
    expect(await statusOf('post', erasure, { id }, { ...as, ...oversized })).toBe(413);
    expect(await statusOf('post', erasure, { id }, { ...as, raw: { contentType: 'application/json', body: '{' } })).toBe(400);
    const started = await call('post', erasure, { id }, as);
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/v1/drivers/${id}/erasure`);
    expect(await statusOf('post', erasure, { id }, as)).toBe(200);
    expect(await statusOf('get', erasure, { id }, as)).toBe(200);
    for (const method of ['get', 'post'] as const) {
      expect(await statusOf(method, erasure, { id: 'not-a-uuid' }, as)).toBe(400);
      expect(await statusOf(method, erasure, { id: randomUUID() }, as)).toBe(404);
    }
    // A registration that has not settled cannot be erased: identity is held still so the driver stays PENDING.
    const identityPid = platform.system.pids().identity!;
    process.kill(identityPid, 'SIGSTOP');
    try {
      const pending = await call('post', '/v1/drivers', {}, { ...as, json: { ...registration, email: `pending.${randomUUID()}@example.com` } });
      expect(await statusOf('post', erasure, { id: pending.body.id as string }, as)).toBe(409);
    } finally {
      process.kill(identityPid, 'SIGCONT');
    }
  }, 120_000);

  it('documents what the gateway answers on every operation: no token, no role, too many requests', async () => {
    const flooder = await roleless('openapi-flooder');
    for (const { method, template } of everyOperation()) {
      expect((await call(method, template, anyIds)).status).toBe(401);
      expect((await call(method, template, anyIds, { token: flooder })).status).toBe(403);
    }
    // The allowance is per verified subject: spend the rest of the flooder's, then every operation is refused.
    for (let spent = everyOperation().length; spent < RATE_LIMIT_MAX; spent += 1) await call('get', '/v1/drivers', {}, { token: flooder });
    for (const { method, template } of everyOperation()) {
      const limited = await call(method, template, anyIds, { token: flooder });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    }
  });

  it('documents what the gateway answers when a service is slow, down, or given up on', async () => {
    const admin = { token: await token('admin', 'openapi-faults') };
    // A stopped process still accepts connections (the kernel does) but never answers: the upstream timeout.
    const identity = platform.system.pids().identity!;
    process.kill(identity, 'SIGSTOP');
    try {
      expect((await call('get', '/v1/identity/accounts/{driverId}', { driverId: randomUUID() }, admin)).status).toBe(504);
    } finally {
      process.kill(identity, 'SIGCONT');
    }
    // A service that is gone: 502 until its breaker opens, then 503 without calling it.
    await platform.system.kill('notification');
    const statuses: number[] = [];
    const operations = [
      ['get', '/v1/notifications'],
      ['post', '/v1/notifications/{id}/read'],
      ['get', '/v1/notifications/stream'],
    ] as const;
    // Until each operation has met the open breaker: which call it opens on depends on when the gateway records the
    // outcomes before it, so stopping at the first 503 could leave an operation never seen answering it.
    const answered503 = new Set<string>();
    for (let attempt = 0; attempt < 20 && answered503.size < operations.length; attempt += 1) {
      for (const [method, template] of operations) {
        const { status } = await call(method, template, anyIds, admin);
        statuses.push(status);
        if (status === 503) answered503.add(template);
      }
    }
    expect(statuses).toContain(502);
    expect(statuses).toContain(503);
    expect(new Set(statuses)).toEqual(new Set([502, 503]));
    for (const template of ['/v1/notifications', '/v1/notifications/stream']) expect((await call('get', template, {}, admin)).status).toBe(503);
  });

  it('has been seen answering every status it lists, but for failures no request can cause', () => {
    // 500 needs a bug; 502, 503 and 504 are provoked above on the operations of one service each, since the gateway
    // answers them the same way for every service.
    const unprovoked = (name: string, status: string) =>
      status === '500' ||
      (['502', '503'].includes(status) && !name.includes('/v1/notifications')) ||
      (status === '504' && !name.includes('/v1/identity'));
    const missing = everyOperation().flatMap(({ method, template }) => {
      const name = `${method.toUpperCase()} ${template}`;
      return Object.keys(document.paths[template]![method]!.responses)
        .filter((status) => !seen.get(name)?.has(Number(status)) && !unprovoked(name, status))
        .map((status) => `${name} ${status}`);
    });
    expect(missing).toEqual([]);
  });

  it('counts every request by route and status, at the gateway and at the service behind it', async () => {
    const gateway = await scrapeMetrics(platform.system.gatewayUrl);
    const driver = await scrapeMetrics(platform.system.url('driver'));
    // The gateway's routes are its proxy's prefixes; the service's are its own patterns.
    // Two registrations were accepted: the one the test follows, and the one held PENDING for the erasure's 409.
    expect(metricValue(gateway, 'http_requests_total', { method: 'POST', route: '/v1/drivers', status: '202' })).toBe(2);
    expect(metricValue(gateway, 'http_requests_total', { method: 'POST', route: '/v1/drivers', status: '413' })).toBe(1);
    expect(metricValue(gateway, 'http_requests_total', { method: 'GET', route: '/v1/identity/*', status: '504' })).toBe(1);
    expect(metricValue(driver, 'http_requests_total', { method: 'POST', route: '/v1/drivers', status: '202' })).toBe(2);
    expect(metricValue(driver, 'http_requests_total', { method: 'POST', route: '/v1/drivers', status: '409' })).toBe(1);
    expect(metricValue(driver, 'http_requests_total', { method: 'GET', route: '/v1/drivers/:id', status: '404' })).toBe(1);
    expect(metricValue(driver, 'http_request_duration_seconds_count', { method: 'DELETE', route: '/v1/drivers/:id', status: '200' })).toBe(1);
    const routes = new Set(driver.filter((sample) => sample.name === 'http_requests_total').map((sample) => sample.labels.route));
    for (const route of routes) expect(route).not.toMatch(/[0-9a-f]{8}-|not-a-uuid/);
  });
});
