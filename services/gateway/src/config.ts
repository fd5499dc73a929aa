import { Type, type Static, type TString } from '@sinclair/typebox';
import { BACKEND_SERVICES, service, serviceUrlVariable, type ServiceName } from '@onboarding/contracts';
import { ConfigError, developmentDefault, listenEnv, readConfig, type ConfigContext } from '@onboarding/service-kit';

/**
 * Dev-only signing secret so a fresh clone works without an identity provider. It is in the repository, so
 * anyone can sign with it: production never accepts it (gatewayConfigProblems, sharedSecretVerifier).
 */
export const DEV_JWT_SECRET = 'local-development-only-secret-do-not-use-in-production';

/**
 * A production JWT_SECRET is "strong" when it looks like what a random generator prints for 32 bytes (the
 * 256-bit HS256 key RFC 7518 §3.2 asks for): `openssl rand -base64 32` (44 characters) or `openssl rand -hex 32`
 * (64). Entropy cannot be measured from one string, so the check refuses what is plainly not random: fewer than
 * 43 characters (32 bytes in unpadded base64), fewer than 16 distinct characters (a repeated or patterned
 * filler), and the development secret.
 */
export const STRONG_SECRET_MIN_LENGTH = 43;

/** Dev-only key for the console's session cookies, like DEV_JWT_SECRET: production refuses it. */
export const DEV_SESSION_SECRET = 'local-development-only-session-secret-not-for-production';
export const STRONG_SECRET_MIN_DISTINCT = 16;

/** Why a secret is not strong enough for production, or undefined when it is. */
export function jwtSecretWeakness(secret: string): string | undefined {
  if (secret.trim() === DEV_JWT_SECRET || secret.trim() === DEV_SESSION_SECRET)
    return 'the development secret from the repository is never accepted in production';
  if (secret.length < STRONG_SECRET_MIN_LENGTH) {
    return `too short for production: at least ${STRONG_SECRET_MIN_LENGTH} characters of random data (e.g. openssl rand -base64 32)`;
  }
  if (new Set(secret).size < STRONG_SECRET_MIN_DISTINCT) {
    return `not random enough for production: at least ${STRONG_SECRET_MIN_DISTINCT} distinct characters (e.g. openssl rand -base64 32)`;
  }
  return undefined;
}

export const GATEWAY = service('gateway');

export type BackendName = Exclude<ServiceName, 'gateway'>;
type UpstreamUrlEnv = { [N in BackendName as `${Uppercase<N>}_URL`]: TString };

/** `DRIVER_URL`, `IDENTITY_URL`, …: one per service in the service list, by default where it listens locally. */
const UpstreamUrls = Object.fromEntries(
  BACKEND_SERVICES.map((entry) => [
    serviceUrlVariable(entry.name),
    Type.String({ pattern: '^https?://', default: `http://127.0.0.1:${entry.port}` }),
  ]),
) as UpstreamUrlEnv;

export const GatewayEnv = Type.Object({
  ...listenEnv(GATEWAY),
  ...UpstreamUrls,
  JWT_SECRET: Type.String({ minLength: 32, default: DEV_JWT_SECRET }),
  /** When set (production: the B2C tenant's JWKS), tokens are verified against it instead of the shared secret. */
  JWT_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 600, description: 'Requests per client per window' }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 100, default: 60_000 }),
  UPSTREAM_BREAKER_RESET_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  /**
   * How often the gateway asks each upstream's /readyz, for the upstream states its own readiness shows and to close
   * an upstream's open breakers as soon as it is ready again: so also the longest wait for routes to recover.
   */
  UPSTREAM_PROBE_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 1_000 }),
  /**
   * Verified bearer tokens and console sessions the gateway remembers (each kind its own cache), so a client's same
   * token is checked once per TOKEN_CACHE_TTL_SECONDS rather than on every request; least recently used evicted. 0
   * turns the caches off.
   */
  TOKEN_CACHE_MAX_ENTRIES: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10_000 }),
  /**
   * The longest a verified token is remembered, however far off its `exp` (never past it): also how long a key
   * withdrawn from the JWKS keeps the tokens it signed accepted.
   */
  TOKEN_CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 300, default: 60 }),
  JWT_ISSUER: developmentDefault(Type.String({ minLength: 1, default: 'onboarding-local' }), 'the issuer of local development tokens'),
  JWT_AUDIENCE: developmentDefault(Type.String({ minLength: 1, default: 'onboarding-api' }), 'the audience of local development tokens'),
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  /**
   * Connections to an upstream reserved for event streams (`/v1/notifications/stream`), apart from the 128 for
   * requests, and so the streams one gateway proxies at once: one more is answered 503.
   */
  STREAM_UPSTREAM_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 10_000, default: 256 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
  /**
   * Serves the OpenAPI document and Swagger UI at /docs. On by default for development; production sets it to
   * false (deploy/base/gateway does) unless the API is meant to be browsed by outsiders: the docs map every route.
   */
  DOCS_ENABLED: Type.Boolean({ default: true }),
  /**
   * Serves the admin console under /admin/ with its sign-in. In production it needs the OIDC settings and a session
   * secret below (the gateway refuses to start without them, naming each); `false` serves neither.
   */
  CONSOLE_ENABLED: Type.Boolean({ default: true }),
  /** Where the built console is; by default the `dist` of the console workspace. */
  CONSOLE_DIR: Type.Optional(Type.String({ minLength: 1 })),
  /** Signs the console's session cookies (HS256): 32 random bytes in production, shared by every gateway replica. */
  SESSION_SECRET: Type.String({ minLength: 32, default: DEV_SESSION_SECRET }),
  SESSION_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 7 * 24 * 3600, default: 8 * 3600 }),
  /** The OpenID Connect issuer the console signs in with (Azure AD B2C: the user flow's issuer URL, with discovery under it). */
  OIDC_ISSUER_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  OIDC_CLIENT_ID: Type.Optional(Type.String({ minLength: 1 })),
  /** Absent for a public client (PKCE only). */
  OIDC_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  /** The gateway's /admin/auth/callback as browsers reach it, registered with the provider. */
  OIDC_REDIRECT_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
});
export type GatewayConfig = Static<typeof GatewayEnv>;

/**
 * The gateway's own production rules: tokens are verified against the identity provider's JWKS or a strong
 * secret given explicitly, never against the development secret (its default), whatever else is set.
 */
export function gatewayConfigProblems(config: GatewayConfig, context: ConfigContext): string[] {
  if (!context.production) return [];
  return [...tokenProblems(config, context), ...consoleProblems(config, context)];
}

function tokenProblems(config: GatewayConfig, { provided }: ConfigContext): string[] {
  if (provided.has('JWT_SECRET')) {
    const weakness = jwtSecretWeakness(config.JWT_SECRET);
    return weakness ? [`JWT_SECRET: ${weakness}`] : [];
  }
  if (config.JWT_JWKS_URL) return [];
  return [
    "JWT_JWKS_URL or JWT_SECRET: production verifies tokens against the identity provider's keys (JWT_JWKS_URL with " +
      'JWT_ISSUER and JWT_AUDIENCE) or a strong shared secret (JWT_SECRET); neither is set, and the development secret is ' +
      'never used in production',
  ];
}

/**
 * A production console signs in through the identity provider only (the development sign-in does not exist there),
 * so each OIDC setting and a strong session secret must be given; CONSOLE_ENABLED=false is the explicit way out.
 */
function consoleProblems(config: GatewayConfig, { provided }: ConfigContext): string[] {
  if (!config.CONSOLE_ENABLED) return [];
  const problems: string[] = [];
  const required = {
    OIDC_ISSUER_URL: 'the issuer the console signs in with',
    OIDC_CLIENT_ID: "the console's client id",
    OIDC_REDIRECT_URL: "the console's callback URL",
  } as const;
  for (const [name, what] of Object.entries(required)) {
    if (!config[name as keyof typeof required]) problems.push(`${name}: the admin console needs ${what} in production (or CONSOLE_ENABLED=false)`);
  }
  if (!provided.has('SESSION_SECRET')) {
    problems.push('SESSION_SECRET: the admin console needs a secret for its session cookies in production (or CONSOLE_ENABLED=false)');
  } else {
    const weakness = jwtSecretWeakness(config.SESSION_SECRET);
    if (weakness) problems.push(`SESSION_SECRET: ${weakness}`);
  }
  return problems;
}

/** The gateway's config as its main.ts reads it (the token CLI too): the schema, then the production rules. */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const { config, context, problems } = readConfig(GatewayEnv, env);
  const all = [...problems, ...gatewayConfigProblems(config, context)];
  if (all.length) throw new ConfigError(all);
  return config;
}

/** Where the gateway reaches a service (its `…_URL` variable). */
export function upstreamUrl(config: GatewayConfig, name: BackendName): string {
  return config[serviceUrlVariable(name) as keyof UpstreamUrlEnv];
}
