import { API_ROLES, type ApiRole } from '@onboarding/contracts';

export const ROLES = API_ROLES;
export type Role = ApiRole;

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
