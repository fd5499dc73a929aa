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
export const STRONG_SECRET_MIN_DISTINCT = 16;

/** Why a secret is not strong enough for production, or undefined when it is. */
export function jwtSecretWeakness(secret: string): string | undefined {
  if (secret.trim() === DEV_JWT_SECRET) return 'the development secret from the repository is never accepted in production';
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
  /** How often the gateway asks each upstream's /readyz, for the upstream states its own readiness shows. */
  UPSTREAM_PROBE_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000 }),
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
});
export type GatewayConfig = Static<typeof GatewayEnv>;

/**
 * The gateway's own production rules: tokens are verified against the identity provider's JWKS or a strong
 * secret given explicitly, never against the development secret (its default), whatever else is set.
 */
export function gatewayConfigProblems(config: GatewayConfig, { production, provided }: ConfigContext): string[] {
  if (!production) return [];
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
