import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Type } from '@sinclair/typebox';
import { createServer } from 'node:net';
import pg from 'pg';
import {
  AppError,
  ConfigError,
  createHttpServer,
  createLogger,
  isDatabaseUnreachable,
  keysetCursor,
  loadConfig,
  redactUrl,
  scrubPersonalData,
} from '../src';
import { RegisterDriverBody } from '@onboarding/contracts';

/** A logger as services create it, writing its lines into an array the test reads. */
function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('test', 'info', sink), lines };
}

describe('configuration', () => {
  const Schema = Type.Object({
    PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8080 }),
    DATABASE_URL: Type.String({ pattern: '^postgres://' }),
  });

  it('applies defaults and converts numbers', () => {
    expect(loadConfig(Schema, { DATABASE_URL: 'postgres://db/x' })).toEqual({ PORT: 8080, DATABASE_URL: 'postgres://db/x' });
    expect(loadConfig(Schema, { DATABASE_URL: 'postgres://db/x', PORT: '9000' }).PORT).toBe(9000);
  });

  it('reports every problem with the variable it concerns', () => {
    expect(() => loadConfig(Schema, { PORT: 'eighty' })).toThrow(ConfigError);
    try {
      loadConfig(Schema, { PORT: 'eighty' });
    } catch (err) {
      expect((err as Error).message).toMatch(/PORT/);
      expect((err as Error).message).toMatch(/DATABASE_URL/);
    }
  });
});

describe('http conventions', () => {
  const logger = pino({ level: 'silent' });

  // Real HTTP rather than app.inject(): light-my-request pulls an ESM-only dependency jest cannot load.
  async function serve(app: FastifyInstance) {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    return async (method: string, url: string, options: { body?: string; headers?: Record<string, string> } = {}) => {
      const response = await fetch(`${base}${url}`, { method, body: options.body, headers: options.headers });
      const text = await response.text();
      return {
        statusCode: response.status,
        headers: Object.fromEntries(response.headers),
        body: text,
        json: () => JSON.parse(text) as Record<string, unknown>,
      };
    };
  }

  it('maps validation failures, AppErrors, unknown routes and crashes to problem+json', async () => {
    const app = createHttpServer({ logger });
    app.post('/things', { schema: { body: RegisterDriverBody } }, async () => ({ ok: true }));
    app.get('/conflict', async () => {
      throw AppError.conflict('already there', 'thing-exists');
    });
    app.get('/crash', async () => {
      throw new Error('secret internals');
    });
    const request = await serve(app);
    const json = { 'content-type': 'application/json' };
    const invalid = await request('POST', '/things', { body: JSON.stringify({ firstName: 1 }), headers: json });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.headers['content-type']).toContain('application/problem+json');
    expect(invalid.json()).toMatchObject({ type: '/problems/validation-failed', status: 400 });
    expect((await request('GET', '/conflict')).json()).toMatchObject({
      type: '/problems/thing-exists',
      status: 409,
      detail: 'already there',
    });
    const crash = await request('GET', '/crash');
    expect(crash.statusCode).toBe(500);
    expect(crash.body).not.toContain('secret internals');
    expect((await request('GET', '/nowhere')).statusCode).toBe(404);
    const tooLarge = await request('POST', '/things', {
      headers: json,
      body: JSON.stringify({ firstName: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json().type).toBe('/problems/payload-too-large');
    await app.close();
  });

  it('answers 503 problem+json with Retry-After when the database cannot be reached, and 500 for a failing statement', async () => {
    const app = createHttpServer({ logger });
    const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
    const failures: Record<string, Error> = {
      refused: withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      dropped: new Error('Connection terminated unexpectedly'),
      'shutting-down': withCode('terminating connection due to administrator command', '57P01'),
      'wrapped-by-the-orm': new Error('transaction failed', { cause: withCode('connection failure', '08006') }),
      'unique-violation': withCode('duplicate key value violates unique constraint', '23505'),
    };
    app.get('/fail/:kind', async (request) => {
      throw failures[(request.params as { kind: string }).kind] ?? new Error('no such failure');
    });
    const request = await serve(app);
    for (const kind of ['refused', 'dropped', 'shutting-down', 'wrapped-by-the-orm']) {
      const answer = await request('GET', `/fail/${kind}`);
      expect({ kind, status: answer.statusCode, retryAfter: answer.headers['retry-after'] }).toEqual({ kind, status: 503, retryAfter: '1' });
      expect(answer.headers['content-type']).toContain('application/problem+json');
      expect(answer.json()).toMatchObject({ type: '/problems/database-unavailable', retryAfterSeconds: 1 });
    }
    const statementFailed = await request('GET', '/fail/unique-violation');
    expect(statementFailed.statusCode).toBe(500);
    expect(statementFailed.headers['retry-after']).toBeUndefined();
    await app.close();
  });

  it('tells a database that cannot be reached from one whose statement failed, on the errors pg really throws', async () => {
    // A port that was free a moment ago: nothing listens there, so the connection is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await new pg.Client({ host: '127.0.0.1', port }).connect().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isDatabaseUnreachable(refused)).toBe(true);
    const pool = new pg.Pool({ host: '127.0.0.1', port, connectionTimeoutMillis: 1_000 });
    const fromPool = await pool.query('select 1').then(
      () => undefined,
      (err: unknown) => err,
    );
    await pool.end();
    expect(isDatabaseUnreachable(fromPool)).toBe(true);
    expect(isDatabaseUnreachable(Object.assign(new Error('deadlock detected'), { code: '40P01' }))).toBe(false);
    expect(isDatabaseUnreachable(new Error('SMTP unavailable: Connection terminated'))).toBe(false);
    expect(isDatabaseUnreachable('Connection terminated')).toBe(false);
  });

  it('answers problem+json for what the router refuses: an undecodable path escape, a path segment too long', async () => {
    const app = createHttpServer({ logger });
    app.get('/things/:id', async () => ({ ok: true }));
    const request = await serve(app);
    const badEscape = await request('GET', '/things/%E0%A4%A');
    expect(badEscape.statusCode).toBe(400);
    expect(badEscape.headers['content-type']).toContain('application/problem+json');
    const tooLong = await request('GET', `/things/${'a'.repeat(500)}`);
    expect(tooLong.statusCode).toBe(414);
    expect(tooLong.json()).toMatchObject({ type: '/problems/uri-too-long', status: 414 });
    await app.close();
  });

  it('echoes or assigns a request id', async () => {
    const app = createHttpServer({ logger });
    app.get('/ping', async () => ({ ok: true }));
    const request = await serve(app);
    expect((await request('GET', '/ping', { headers: { 'x-request-id': 'abc' } })).headers['x-request-id']).toBe('abc');
    expect((await request('GET', '/ping')).headers['x-request-id']).toEqual(expect.any(String));
    await app.close();
  });
});

describe('keyset cursors', () => {
  const drivers = keysetCursor('drivers');
  const at = new Date('2026-11-21T10:00:00.123Z');
  const id = '3f2b8c1e-5d6a-4b7c-8d9e-0f1a2b3c4d5e';
  const forge = (fields: unknown) => Buffer.from(JSON.stringify(fields)).toString('base64url');
  const refusal = (cursor: string) => {
    try {
      drivers.decode(cursor);
    } catch (err) {
      return err instanceof AppError ? `${err.statusCode} ${err.code}` : 'not an AppError';
    }
    return 'accepted';
  };

  it('reads back what it wrote', () => {
    expect(drivers.decode(drivers.encode(at, id))).toEqual({ createdAt: at, id });
  });

  it("refuses with 400 invalid-cursor another list's cursor, a bad inner id, a date PostgreSQL cannot compare, and garbage", () => {
    for (const cursor of [
      keysetCursor('notifications').encode(at, id),
      forge(['drivers', at.toISOString(), 'not-a-uuid']),
      forge(['drivers', at.toISOString(), 7]),
      forge(['drivers', '+275760-09-13T00:00:00.000Z', id]),
      forge(['drivers', '0000-01-01T00:00:00.000Z', id]),
      forge(['drivers', '2026-02-30T00:00:00.000Z', id]),
      forge([at.toISOString(), id]),
      forge(null),
      'garbage',
    ]) {
      expect(refusal(cursor)).toBe('400 invalid-cursor');
    }
  });
});

describe('personal data in logs', () => {
  it('masks addresses and phone numbers in free text but keeps timestamps and ids', () => {
    const text = "insert values ('ada@example.com', '+44 20 7946 0000', '2026-11-21T06:28:37.719Z', 'b342939b-0f1d')";
    const scrubbed = scrubPersonalData(text);
    expect(scrubbed).not.toContain('ada@example.com');
    expect(scrubbed).not.toContain('7946');
    expect(scrubbed).toContain('2026-11-21T06:28:37.719Z');
  });

  it('censors personal fields and scrubs errors in structured logs', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ email: 'ada@example.com', driver: { phone: '+44 20 7946 0000' } }, 'registered');
    logger.error({ err: new Error('duplicate key (email)=(grace@example.com)') }, 'insert failed');
    const output = lines.join('');
    expect(output).toContain('registered');
    expect(output).toContain('[redacted]');
    expect(output).not.toContain('ada@example.com');
    expect(output).not.toContain('grace@example.com');
    expect(output).not.toContain('7946');
  });

  it('masks the row values PostgreSQL quotes in its error details, names among them, keeping the columns', () => {
    const notNull =
      'null value in column "role" violates not-null constraint\n - detail: Failing row contains (b342939b, Zebulon, Quillfeather, null).';
    expect(scrubPersonalData(notNull)).toBe('null value in column "role" violates not-null constraint\n - detail: Failing row contains (…).');
    const unique = 'duplicate key value violates unique constraint "u"\n - detail: Key (given_name, surname)=(Zebulon, Quillfeather) already exists.';
    expect(scrubPersonalData(unique)).toBe(
      'duplicate key value violates unique constraint "u"\n - detail: Key (given_name, surname)=(…) already exists.',
    );
  });

  it('censors names in structured fields and scrubs errors logged as bare messages', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ driver: { firstName: 'Zebulon', lastName: 'Quillfeather' }, givenName: 'Zebulon', surname: 'Quillfeather' }, 'profile');
    logger.warn({ err: 'mailbox zeb@example.org unavailable' }, 'failed');
    logger.info({ source: 'http://127.0.0.1:8084/v1/notifications?recipient=Zebulon' }, 'fetching from remote server');
    const output = lines.join('');
    expect(output).not.toMatch(/Zebulon|Quillfeather|zeb@example\.org/);
    expect(output).toContain('mailbox [email] unavailable');
    expect(output).toContain('/v1/notifications?recipient=REDACTED');
  });

  it('masks query values in URLs, except the harmless paging parameters', () => {
    expect(redactUrl('/v1/notifications?recipient=zeb%40example.org&limit=5&cursor=abc&q=Zebulon#frag')).toBe(
      '/v1/notifications?recipient=REDACTED&limit=5&cursor=abc&q=REDACTED',
    );
    expect(redactUrl('http://gateway/v1/drivers')).toBe('http://gateway/v1/drivers');
    expect(redactUrl('/x?Zebulon')).toBe('/x?REDACTED');
  });

  it('logs request URLs with their query values redacted', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const app = createHttpServer({ logger: createLogger('test', 'info', sink) });
    app.get('/search', async () => ({ ok: true }));
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect((await fetch(`${base}/search?q=Zebulon%20Quillfeather&limit=5`)).status).toBe(200);
    } finally {
      await app.close();
    }
    const output = lines.join('');
    expect(output).toContain('"url":"/search?q=REDACTED&limit=5"');
    expect(output).not.toContain('Zebulon');
  });
});
