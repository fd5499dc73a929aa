import { Type, type Static, type TString } from '@sinclair/typebox';
import { BACKEND_SERVICES, service, serviceUrlVariable, type ServiceName } from '@onboarding/contracts';
import { listenEnv, loadConfig } from '@onboarding/service-kit';

/** Dev-only signing secret so a fresh clone works without an identity provider; production sets its own. */
export const DEV_JWT_SECRET = 'local-development-only-secret-do-not-use-in-production';

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
  JWT_ISSUER: Type.String({ minLength: 1, default: 'onboarding-local' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'onboarding-api' }),
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
});
export type GatewayConfig = Static<typeof GatewayEnv>;

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => loadConfig(GatewayEnv, env);

/** Where the gateway reaches a service (its `…_URL` variable). */
export function upstreamUrl(config: GatewayConfig, name: BackendName): string {
  return config[serviceUrlVariable(name) as keyof UpstreamUrlEnv];
}
