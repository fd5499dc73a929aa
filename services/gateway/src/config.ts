import { Type, type Static } from '@sinclair/typebox';
import { Port, loadConfig } from '@onboarding/service-kit';

/** Dev-only signing secret so a fresh clone works without an identity provider; production sets its own. */
export const DEV_JWT_SECRET = 'local-development-only-secret-do-not-use-in-production';

const Url = (fallback: string) => Type.String({ pattern: '^https?://', default: fallback });

export const GatewayEnv = Type.Object({
  HOST: Type.String({ default: '127.0.0.1' }),
  GATEWAY_PORT: Port(8080),
  LOG_LEVEL: Type.String({ default: 'info' }),
  DRIVER_URL: Url('http://127.0.0.1:8081'),
  IDENTITY_URL: Url('http://127.0.0.1:8082'),
  MAILER_URL: Url('http://127.0.0.1:8083'),
  NOTIFICATION_URL: Url('http://127.0.0.1:8084'),
  JWT_SECRET: Type.String({ minLength: 32, default: DEV_JWT_SECRET }),
  /** When set (production: the B2C tenant's JWKS), tokens are verified against it instead of the shared secret. */
  JWT_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 600, description: 'Requests per client per window' }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 100, default: 60_000 }),
  UPSTREAM_BREAKER_RESET_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'onboarding-local' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'onboarding-api' }),
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
});
export type GatewayConfig = Static<typeof GatewayEnv>;

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => loadConfig(GatewayEnv, env);

