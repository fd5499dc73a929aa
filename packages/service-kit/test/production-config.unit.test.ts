import { Type } from '@sinclair/typebox';
import {
  ConfigError,
  LOCAL_AMQP_URL,
  LOCAL_DATABASE_URL,
  defineService,
  developmentDefault,
  developmentDefaults,
  loadConfig,
  serviceEnv,
} from '../src';

const Schema = Type.Object({
  DATABASE_URL: developmentDefault(Type.String({ pattern: '^postgres://', default: LOCAL_DATABASE_URL }), 'the local PostgreSQL'),
  SMTP_URL: developmentDefault(Type.String({ pattern: '^smtp://', default: 'smtp://127.0.0.1:1025' }), 'the local mail catcher'),
  PORT: Type.Integer({ default: 8080 }),
});

/** The ConfigError's problems, or a failure when the config loads. */
function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the config loaded');
}

describe('development defaults in production', () => {
  it('apply silently outside production', () => {
    for (const NODE_ENV of [undefined, 'development', 'test']) {
      expect(loadConfig(Schema, { NODE_ENV })).toEqual({ DATABASE_URL: LOCAL_DATABASE_URL, SMTP_URL: 'smtp://127.0.0.1:1025', PORT: 8080 });
    }
  });

  it('must be set explicitly in production, every one named at once (an empty value counts as unset)', () => {
    const problems = problemsOf(() => loadConfig(Schema, { NODE_ENV: 'production', SMTP_URL: '' }));
    expect(problems).toEqual([
      expect.stringMatching(/^DATABASE_URL: must be set explicitly in production .*the local PostgreSQL/),
      expect.stringMatching(/^SMTP_URL: must be set explicitly in production .*the local mail catcher/),
    ]);
  });

  it('are listed with what their default is (what a deployment must set)', () => {
    expect(developmentDefaults(Schema)).toEqual({ DATABASE_URL: 'the local PostgreSQL', SMTP_URL: 'the local mail catcher' });
    expect(Object.keys(developmentDefaults(Type.Object(serviceEnv({ name: 'probe', port: 1 }))))).toEqual(['DATABASE_URL', 'AMQP_URL']);
  });

  it('are accepted in production when given explicitly, even with the default value; unmarked defaults still apply', () => {
    const env = { NODE_ENV: 'production', DATABASE_URL: LOCAL_DATABASE_URL, SMTP_URL: 'smtp://mail.example.com' };
    expect(loadConfig(Schema, env)).toEqual({ DATABASE_URL: LOCAL_DATABASE_URL, SMTP_URL: 'smtp://mail.example.com', PORT: 8080 });
  });

  it('are reported together with what the schema rejects', () => {
    const problems = problemsOf(() => loadConfig(Schema, { NODE_ENV: 'production', SMTP_URL: 'http://nope', PORT: 'eighty' }));
    expect(problems.map((problem) => problem.split(':')[0])).toEqual(expect.arrayContaining(['DATABASE_URL', 'SMTP_URL', 'PORT']));
    expect(problems.find((problem) => problem.startsWith('DATABASE_URL'))).toMatch(/production/);
  });

  it("the chassis reports them with the service's own rules, which see whether this is production and what was given", () => {
    const entry = { name: 'probe', port: 18098, routes: [] } as const;
    const seen: { production: boolean; provided: string[] }[] = [];
    const definition = defineService({
      entry,
      env: Type.Object({ ...serviceEnv(entry), MODE: Type.String({ default: 'dev' }) }),
      database: { entities: [], migrations: [] },
      checkConfig: (config, context) => {
        seen.push({ production: context.production, provided: [...context.provided].sort() });
        return context.production && !context.provided.has('MODE') ? ['MODE: say which mode production runs in'] : [];
      },
      compose: () => ({}),
    });
    expect(definition.loadConfig({}).DATABASE_URL).toBe(LOCAL_DATABASE_URL);
    expect(problemsOf(() => definition.loadConfig({ NODE_ENV: 'production', AMQP_URL: LOCAL_AMQP_URL }))).toEqual([
      expect.stringMatching(/^DATABASE_URL: must be set explicitly in production/),
      'MODE: say which mode production runs in',
    ]);
    expect(seen).toEqual([
      { production: false, provided: [] },
      { production: true, provided: ['AMQP_URL'] },
    ]);
    const explicit = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db.internal/app', AMQP_URL: 'amqps://broker.internal', MODE: 'live' };
    expect(definition.loadConfig(explicit)).toMatchObject({ DATABASE_URL: 'postgres://db.internal/app', MODE: 'live' });
  });

  it('refuses an inbox retention shorter than the retry schedule plus its margin, naming the setting', () => {
    const entry = { name: 'probe', port: 18097, routes: [] } as const;
    const definition = defineService({ entry, env: Type.Object(serviceEnv(entry)), database: { entities: [], migrations: [] }, compose: () => ({}) });
    // The default schedule sums to 381 s; its default retention is 7 days.
    expect(definition.loadConfig({}).INBOX_RETENTION_MS).toBe(7 * 24 * 3600_000);
    expect(problemsOf(() => definition.loadConfig({ INBOX_RETENTION_MS: String(3600_000) }))).toEqual([
      expect.stringMatching(/^INBOX_RETENTION_MS: 3600000 ms is too short; .*RETRY_DELAYS_MS, 381000 ms in all.* 3981000 ms/),
    ]);
    expect(definition.loadConfig({ INBOX_RETENTION_MS: '3981000' }).INBOX_RETENTION_MS).toBe(3_981_000);
    expect(definition.loadConfig({ INBOX_RETENTION_MS: '3700000', RETRY_DELAYS_MS: '100,200' }).INBOX_RETENTION_MS).toBe(3_700_000);
  });
});
