export { gatewayService } from './app';
export {
  GatewayEnv,
  DEV_JWT_SECRET,
  DEV_SESSION_SECRET,
  gatewayConfigProblems,
  jwtSecretWeakness,
  loadGatewayConfig,
  type GatewayConfig,
} from './config';
export { signDevToken } from './auth/dev-token';
export { ROLES, isRole, type Role } from './auth/roles';
