export { buildIdentityApp, type IdentityApp, SERVICE_NAME, IDENTITY_QUEUE } from './app';
export { IdentityEnv, loadIdentityConfig, type IdentityConfig } from './config';
