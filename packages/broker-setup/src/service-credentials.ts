import { CONSUMING_SERVICES } from '@onboarding/contracts';
import type { ServiceCredentials } from './access-rules';

/** The variable that carries a service's broker URL (with its user and password) to the set-up job: `DRIVER_AMQP_URL`, … */
export const amqpUrlVariable = (service: string): string => `${service.toUpperCase()}_AMQP_URL`;

/** Shorter than this, a password is refused: the set-up never creates a broker user with a guessable one. */
export const MIN_PASSWORD_LENGTH = 16;

export interface CredentialsFromEnvironment {
  vhost: string;
  prefix: string;
  services: ServiceCredentials[];
}

/**
 * Each service's broker user and password, read from the same URLs the services themselves are given (one
 * secret per service, so the set-up and the service can never disagree). Fails naming the first variable
 * that is missing, malformed, names another user or vhost, or carries a weak password.
 */
export function credentialsFromEnvironment(env: NodeJS.ProcessEnv, prefix = ''): CredentialsFromEnvironment {
  let vhost: string | undefined;
  const services: ServiceCredentials[] = [];
  for (const { name } of CONSUMING_SERVICES) {
    const variable = amqpUrlVariable(name);
    const value = env[variable];
    if (!value) throw new Error(`${variable} is not set: the set-up creates each service's broker user from its URL`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`${variable} is not a URL`);
    }
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    if (user !== `${prefix}${name}`) throw new Error(`${variable} names user "${user}", but the ${name} service's broker user is "${prefix}${name}"`);
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new Error(`${variable} carries a password shorter than ${MIN_PASSWORD_LENGTH} characters; use a random one (openssl rand -hex 24)`);
    }
    const own = decodeURIComponent(url.pathname.replace(/^\//, '')) || '/';
    if (vhost !== undefined && own !== vhost) throw new Error(`${variable} names vhost "${own}", the others "${vhost}"`);
    vhost = own;
    services.push({ service: name, password });
  }
  return { vhost: vhost ?? '/', prefix, services };
}
