import { SignJWT } from 'jose';
import type { Role } from './roles';

/** Signs a token the gateway accepts with its local development key. */
export async function signDevToken(options: {
  secret: string;
  issuer: string;
  audience: string;
  role: Role;
  subject?: string;
  expiresIn?: string;
}): Promise<string> {
  return new SignJWT({ roles: [options.role] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.subject ?? `dev-${options.role}`)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h')
    .sign(new TextEncoder().encode(options.secret));
}
