export { identityService } from './app';
export { IdentityEnv, type IdentityConfig } from './config';
