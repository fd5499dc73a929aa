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

const DURATION_PATTERN = '^\\s*\\d+\\s*(ms|s|m|h|d)\\s*$';

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
  /**
   * How long a consumer remembers a processed message id (its inbox row) to ignore a copy: longer than any copy
   * can arrive, so at least the whole retry schedule plus INBOX_RETENTION_MARGIN_MS (checked at start).
   */
  INBOX_RETENTION_MS: Type.Integer({ minimum: 1, default: 7 * 24 * 3600_000 }),
  /** How long a published outbox row is kept (for inspection) before it is purged. */
  OUTBOX_RETENTION_MS: Type.Integer({ minimum: 1_000, default: 24 * 3600_000 }),
  LOG_LEVEL: LogLevel,
  /**
   * Deliveries of one message that may end unsettled (its consumer crashed or lost its connection with it) before
   * it is parked as `delivery-limit`. At most 50: the broker's own limit (broker-setup's policy) is above it.
   */
  MESSAGE_DELIVERY_LIMIT: Type.Integer({ minimum: 2, maximum: 50, default: 5 }),
  /** How long a parked message is kept (its row deleted after), e.g. `30d`, `12h`. */
  PARKED_RETENTION: Type.String({ pattern: DURATION_PATTERN, default: '30d' }),
  /** How long a parked message's personal data is kept for a replay (nulled after); at most PARKED_RETENTION. */
  PARKED_PERSONAL_DATA_RETENTION: Type.String({ pattern: DURATION_PATTERN, default: '7d' }),
} satisfies TProperties;

/** A duration setting (`30d`, `12h`, `15m`, `10s`, `500ms`) in milliseconds. */
export function durationMs(value: string): number {
  const match = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!match) throw new Error(`not a duration: "${value}" (say e.g. 30d, 12h, 15m)`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

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

/**
 * What INBOX_RETENTION_MS must exceed the retry schedule by. A copy of a processed message arrives soon after it
 * in every case we know (a redelivery after a lost ack, a relay's republish after a crash), but it may wait in the
 * queue behind a backlog, or a retry copy may sit out its whole delay first: an hour covers the backlogs we expect.
 */
export const INBOX_RETENTION_MARGIN_MS = 3600_000;

/**
 * Rules over several of the base settings, checked by every service at start (defineService's loadConfig): an inbox
 * that forgot a message id before its last copy could arrive would let that copy have a second effect.
 */
export function baseConfigProblems(config: object): string[] {
  // Settings of serviceEnv: a schema without them (the gateway's listenEnv) has nothing to check.
  const { INBOX_RETENTION_MS: retention, RETRY_DELAYS_MS: delays } = config as { INBOX_RETENTION_MS?: unknown; RETRY_DELAYS_MS?: unknown };
  if (typeof retention !== 'number' || typeof delays !== 'string') return [];
  const schedule = retryDelays({ RETRY_DELAYS_MS: delays }).reduce((sum, delay) => sum + delay, 0);
  const minimum = schedule + INBOX_RETENTION_MARGIN_MS;
  return retention < minimum
    ? [
        `INBOX_RETENTION_MS: ${retention} ms is too short; it must be at least the retry schedule (RETRY_DELAYS_MS, ` +
          `${schedule} ms in all) plus ${INBOX_RETENTION_MARGIN_MS} ms, i.e. ${minimum} ms, or a late copy of a processed message would be processed again`,
      ]
    : [];
}

/** Which major versions of an event a service publishes or consumes, e.g. `1,2` during a migration. */
export const VersionList = (fallback: string) => Type.String({ pattern: '^\\s*\\d+(\\s*,\\s*\\d+)*\\s*$', default: fallback });
