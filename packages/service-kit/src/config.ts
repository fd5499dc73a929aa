import { Value } from '@sinclair/typebox/value';
import { Type, type Static, type TObject, type TProperties, type TSchema, type TString } from '@sinclair/typebox';
import { validate } from '@onboarding/contracts';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const LOCAL_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** The schema keyword that marks a default as one for a developer's machine only (see developmentDefault). */
const DEVELOPMENT_DEFAULT = 'developmentDefault';

/**
 * Marks a setting whose default only suits a developer's machine (a local server, guest credentials, a mail
 * catcher): a fresh clone runs without any environment, but with `NODE_ENV=production` the setting must be
 * given explicitly, so a forgotten variable stops the process instead of pointing it at something unsafe.
 * `what` says what the default is, for the message (never the value itself: it may be a credential).
 */
export function developmentDefault<T extends TSchema>(schema: T, what: string): T {
  // A spread keeps TypeBox's symbol keys; validators ignore the extra keyword.
  return { ...schema, [DEVELOPMENT_DEFAULT]: what };
}

/** True when the environment says production: development defaults no longer apply silently. */
export function isProduction(env: NodeJS.ProcessEnv): boolean {
  return env.NODE_ENV === 'production';
}

/** What a config was read from, for rules that depend on it (a service's checkConfig). */
export interface ConfigContext {
  /** `NODE_ENV=production`. */
  readonly production: boolean;
  /** The settings the environment gave (non-empty), as opposed to those left to their default. */
  readonly provided: ReadonlySet<string>;
}

/** A config read from the environment, with the problems found so far (schema-valid, so further rules may run). */
export interface ReadConfig<C> {
  readonly config: C;
  readonly context: ConfigContext;
  readonly problems: string[];
}

const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
  { default: 'info' },
);

/** Settings every service process reads; each service extends them with its own. */
export const BaseServiceEnv = {
  DATABASE_URL: developmentDefault(
    Type.String({ pattern: '^postgres(ql)?://', default: LOCAL_DATABASE_URL }),
    'the local PostgreSQL as user postgres without a password',
  ),
  AMQP_URL: developmentDefault(Type.String({ pattern: '^amqps?://', default: LOCAL_AMQP_URL }), 'the local RabbitMQ as guest/guest'),
  HOST: Type.String({ default: '127.0.0.1' }),
  /** Delay before each retry of a failed message, in ms; the count is the number of retries before parking. */
  RETRY_DELAYS_MS: Type.String({ pattern: '^\\s*\\d+(\\s*,\\s*\\d+)*\\s*$', default: '1000,5000,15000,60000,300000' }),
  LOG_LEVEL: LogLevel,
} satisfies TProperties;

export const Port = (defaultPort: number) => Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort });

/** A database schema name (the default: the schema the service list gives the service). */
export const SchemaName = (fallback: string) => Type.String({ pattern: '^[a-z_][a-z0-9_]*$', default: fallback });

/** What a process without a database or broker reads (the gateway): where to listen, how much to log. */
export const listenEnv = (entry: { port: number }) =>
  ({ HOST: BaseServiceEnv.HOST, PORT: Port(entry.port), LOG_LEVEL: LogLevel }) satisfies TProperties;

/** The variable naming the schema a service owns: `DRIVER_DB_SCHEMA`, … */
export const schemaVariable = <N extends string>(name: N) => `${name.toUpperCase() as Uppercase<N>}_DB_SCHEMA` as const;

/**
 * What every service with a database and a broker reads: `PORT` and `<NAME>_DB_SCHEMA` default to its port and
 * schema in the service list.
 */
export function serviceEnv<N extends string>(entry: { name: N; port: number; schema?: string }) {
  const schema = { [schemaVariable(entry.name)]: SchemaName(entry.schema ?? entry.name) } as { [K in `${Uppercase<N>}_DB_SCHEMA`]: TString };
  return { ...BaseServiceEnv, PORT: Port(entry.port), ...schema } satisfies TProperties;
}

/**
 * Reads the environment once at start-up: defaults applied, numbers converted, every problem reported
 * together (the variable, what is wrong) so a misconfigured process fails fast with a readable message.
 * In production (`NODE_ENV=production`) a setting marked with developmentDefault must be given explicitly.
 */
export function loadConfig<T extends TObject>(schema: T, env: NodeJS.ProcessEnv = process.env): Static<T> {
  const { config, problems } = readConfig(schema, env);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/**
 * loadConfig's first half: throws ConfigError when the schema rejects the environment (with the production
 * problems too, all at once); otherwise returns the config and the production problems, so the caller can add
 * its own rules' problems before failing (see defineService's checkConfig).
 */
export function readConfig<T extends TObject>(schema: T, env: NodeJS.ProcessEnv = process.env): ReadConfig<Static<T>> {
  const relevant: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const context: ConfigContext = { production: isProduction(env), provided: new Set(Object.keys(relevant)) };
  const problems = context.production ? developmentDefaultsApplied(schema, context.provided) : [];
  const withDefaults = Value.Convert(schema, Value.Default(schema, relevant));
  const result = validate(schema, withDefaults);
  if (!result.ok) {
    throw new ConfigError([...problems, ...result.issues.map((issue) => `${issue.path.replace(/^\//, '') || '(root)'}: ${issue.message}`)]);
  }
  return { config: result.value, context, problems };
}

/** The settings a schema marks developmentDefault, with what their default is: what production must set. */
export function developmentDefaults(schema: TObject): Record<string, string> {
  return Object.fromEntries(
    Object.entries(schema.properties).flatMap(([key, property]) => {
      const what = (property as Record<string, unknown>)[DEVELOPMENT_DEFAULT];
      return typeof what === 'string' ? [[key, what]] : [];
    }),
  );
}

/** The settings marked developmentDefault that the environment left to their default. */
function developmentDefaultsApplied(schema: TObject, provided: ReadonlySet<string>): string[] {
  return Object.entries(developmentDefaults(schema))
    .filter(([key]) => !provided.has(key))
    .map(([key, what]) => `${key}: must be set explicitly in production (NODE_ENV=production); its default is ${what}, for local development only`);
}

/** A comma-separated list of whole numbers (already checked by the config schema's pattern). */
export function numberList(value: string): number[] {
  return value.split(',').map((item) => Number(item.trim()));
}

/** `RETRY_DELAYS_MS` as numbers. */
export function retryDelays(config: { RETRY_DELAYS_MS: string }): number[] {
  return numberList(config.RETRY_DELAYS_MS);
}

/** Which major versions of an event a service publishes or consumes, e.g. `1,2` during a migration. */
export const VersionList = (fallback: string) => Type.String({ pattern: '^\\s*\\d+(\\s*,\\s*\\d+)*\\s*$', default: fallback });
