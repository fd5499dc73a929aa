import { Type, type Static } from '@sinclair/typebox';
import { service } from '@onboarding/contracts';
import { VersionList, developmentDefault, serviceEnv } from '@onboarding/service-kit';

export const IDENTITY = service('identity');

export const IdentityEnv = Type.Object({
  ...serviceEnv(IDENTITY),
  /** `local`: a directory kept in this service's own tables; `graph`: Azure AD B2C through Microsoft Graph. */
  IDENTITY_PROVIDER: developmentDefault(
    Type.Union([Type.Literal('local'), Type.Literal('graph')], { default: 'local' }),
    "`local`, a directory in this service's own tables rather than the identity provider",
  ),
  B2C_TENANT: Type.Optional(Type.String({ minLength: 3 })),
  B2C_CLIENT_ID: Type.Optional(Type.String({ minLength: 1 })),
  B2C_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  B2C_EXTENSIONS_APP_ID: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F-]{32,36}$' })),
  GRAPH_TOKEN_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  GRAPH_BASE_URL: Type.String({ pattern: '^https?://', default: 'https://graph.microsoft.com' }),
  GRAPH_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  /** How long the Graph breaker stays open before it lets a trial call through. */
  GRAPH_BREAKER_RESET_MS: Type.Integer({ minimum: 100, default: 15_000 }),
  /** Major versions of driver.registered this service binds to (older ones are upcast). */
  CONSUME_REGISTERED_VERSIONS: VersionList('1,2'),
  CONSUMER_PREFETCH: Type.Integer({ minimum: 1, maximum: 1000, default: 32 }),
});
export type IdentityConfig = Static<typeof IdentityEnv>;

/** The Graph directory needs its tenant and app registration; the schema cannot tie them to the provider. */
export function identityConfigProblems(config: IdentityConfig): string[] {
  if (config.IDENTITY_PROVIDER !== 'graph') return [];
  const required = ['B2C_TENANT', 'B2C_CLIENT_ID', 'B2C_CLIENT_SECRET', 'B2C_EXTENSIONS_APP_ID'] as const;
  return required.filter((key) => !config[key]).map((key) => `${key}: required when IDENTITY_PROVIDER=graph`);
}

export function graphTokenUrl(config: IdentityConfig): string {
  return config.GRAPH_TOKEN_URL ?? `https://login.microsoftonline.com/${config.B2C_TENANT}/oauth2/v2.0/token`;
}
