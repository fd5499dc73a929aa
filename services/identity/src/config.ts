import { Type, type Static } from '@sinclair/typebox';
import { BaseServiceEnv, Port, loadConfig } from '@onboarding/service-kit';

export const IdentityEnv = Type.Object({
  ...BaseServiceEnv,
  PORT: Port(8082),
  IDENTITY_DB_SCHEMA: Type.String({ pattern: '^[a-z_][a-z0-9_]*$', default: 'identity' }),
  /** `local`: a directory kept in this service's own tables (no outside account needed). */
  IDENTITY_PROVIDER: Type.Union([Type.Literal('local')], { default: 'local' }),
  CONSUMER_PREFETCH: Type.Integer({ minimum: 1, maximum: 1000, default: 32 }),
});
export type IdentityConfig = Static<typeof IdentityEnv>;

export const loadIdentityConfig = (env: NodeJS.ProcessEnv = process.env): IdentityConfig => loadConfig(IdentityEnv, env);
