import { randomBytes, randomInt } from 'node:crypto';
import { BreakerOpenError, type RemoteCallBreaker } from '@onboarding/service-kit';
import {
  DRIVER_ROLE,
  DirectoryRefusal,
  DirectoryUnavailable,
  type AccountProfile,
  type DirectoryAccount,
  type DirectoryProvider,
  type NewDirectoryAccount,
} from './directory';

export interface GraphDirectoryOptions {
  /** The B2C tenant, e.g. `contoso.onmicrosoft.com`: issuer of local-account identities. */
  tenant: string;
  clientId: string;
  clientSecret: string;
  /** Application (client) id of the tenant's `b2c-extensions-app`, which owns custom attributes. */
  extensionsAppId: string;
  tokenUrl: string;
  baseUrl: string;
  timeoutMs: number;
  breaker: RemoteCallBreaker;
}

interface GraphUser {
  id: string;
  identities?: { signInType: string; issuer: string; issuerAssignedId: string }[];
  [extension: string]: unknown;
}

interface GraphErrorBody {
  error?: { code?: string; message?: string };
}

/**
 * Azure AD B2C through Microsoft Graph: client-credentials token (cached until shortly before expiry), local
 * accounts signed in by email, the custom attribute `Role = DRIVER` (and the driver id, so a retried create
 * recognises its own account). Every call goes through the circuit breaker.
 */
export class GraphDirectory implements DirectoryProvider {
  readonly name = 'graph';
  private token?: { value: string; expiresAt: number };
  private readonly roleAttribute: string;
  private readonly driverIdAttribute: string;

  constructor(private readonly options: GraphDirectoryOptions) {
    const app = options.extensionsAppId.replace(/-/g, '');
    this.roleAttribute = `extension_${app}_Role`;
    this.driverIdAttribute = `extension_${app}_DriverId`;
  }

  async findByEmail(email: string): Promise<DirectoryAccount | undefined> {
    const literal = email.toLowerCase().replace(/'/g, "''");
    const tenant = this.options.tenant.replace(/'/g, "''");
    const query = new URLSearchParams({
      $filter: `identities/any(c:c/issuerAssignedId eq '${literal}' and c/issuer eq '${tenant}')`,
      $select: ['id', 'identities', this.driverIdAttribute].join(','),
    });
    const body = (await this.request('GET', `/v1.0/users?${query.toString()}`)) as { value?: GraphUser[] };
    const user = body.value?.[0];
    return user ? this.toAccount(user, email) : undefined;
  }

  async createAccount(request: NewDirectoryAccount): Promise<DirectoryAccount> {
    const user = (await this.request('POST', '/v1.0/users', {
      accountEnabled: true,
      displayName: `${request.givenName} ${request.surname}`,
      givenName: request.givenName,
      surname: request.surname,
      mobilePhone: request.phone,
      identities: [{ signInType: 'emailAddress', issuer: this.options.tenant, issuerAssignedId: request.email.toLowerCase() }],
      // The driver sets a password through the B2C reset flow; this one is never shown to anyone.
      passwordProfile: { password: generatePassword(), forceChangePasswordNextSignIn: false },
      passwordPolicies: 'DisablePasswordExpiration',
      [this.roleAttribute]: DRIVER_ROLE,
      [this.driverIdAttribute]: request.driverId,
    })) as GraphUser;
    return { objectId: user.id, email: request.email.toLowerCase(), driverId: request.driverId };
  }

  async updateAccount(objectId: string, profile: AccountProfile): Promise<void> {
    await this.request('PATCH', `/v1.0/users/${encodeURIComponent(objectId)}`, {
      displayName: `${profile.givenName} ${profile.surname}`,
      givenName: profile.givenName,
      surname: profile.surname,
      mobilePhone: profile.phone,
      identities: [{ signInType: 'emailAddress', issuer: this.options.tenant, issuerAssignedId: profile.email.toLowerCase() }],
    });
  }

  async deleteAccount(objectId: string): Promise<void> {
    try {
      await this.request('DELETE', `/v1.0/users/${encodeURIComponent(objectId)}`);
    } catch (err) {
      if (err instanceof DirectoryRefusal && err.code === 'not-found') return; // already gone
      throw err;
    }
  }

  /**
   * `DELETE /users/{id}` moves the user to the deleted items, from where it can be restored for 30 days;
   * `DELETE /directory/deletedItems/{id}` then removes it for good. Either answering 404 means that step was
   * done before (a retried erasure), so both are idempotent.
   */
  async eraseAccount(objectId: string): Promise<void> {
    await this.deleteAccount(objectId);
    try {
      await this.request('DELETE', `/v1.0/directory/deletedItems/${encodeURIComponent(objectId)}`);
    } catch (err) {
      if (err instanceof DirectoryRefusal && err.code === 'not-found') return; // already purged
      throw err;
    }
  }

  private toAccount(user: GraphUser, email: string): DirectoryAccount {
    const driverId = user[this.driverIdAttribute];
    return { objectId: user.id, email: email.toLowerCase(), driverId: typeof driverId === 'string' ? driverId : null };
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now()) return this.token.value;
    const response = await this.fetch(this.options.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: this.options.clientId,
        client_secret: this.options.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
        grant_type: 'client_credentials',
      }).toString(),
    });
    const body = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error_description?: string };
    if (!response.ok || !body.access_token) {
      const detail = body.error_description ?? `HTTP ${response.status}`;
      if (response.status >= 500) throw new DirectoryUnavailable(`token endpoint failed: ${detail}`);
      // Wrong credentials are a configuration error: retrying later (after a fix) is the only remedy.
      throw new DirectoryUnavailable(`token request refused: ${detail}`, 60_000);
    }
    // Renew a minute early so a token never expires between check and use.
    this.token = { value: body.access_token, expiresAt: Date.now() + Math.max(0, (body.expires_in ?? 3600) - 60) * 1000 };
    return this.token.value;
  }

  private async request(method: string, path: string, payload?: unknown): Promise<unknown> {
    try {
      return await this.options.breaker.call(async () => {
        const token = await this.accessToken();
        const response = await this.fetch(new URL(path, this.options.baseUrl).toString(), {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: payload === undefined ? undefined : JSON.stringify(payload),
        });
        if (response.status === 204) return undefined;
        const text = await response.text();
        const body = text ? (JSON.parse(text) as unknown) : undefined;
        if (response.ok) return body;
        throw this.failure(response, body as GraphErrorBody | undefined);
      });
    } catch (err) {
      if (err instanceof BreakerOpenError) throw new DirectoryUnavailable(err.message, err.retryAfterMs);
      if (err instanceof DirectoryRefusal || err instanceof DirectoryUnavailable) throw err;
      throw new DirectoryUnavailable(`Microsoft Graph call failed: ${(err as Error).message}`);
    }
  }

  private failure(response: Response, body: GraphErrorBody | undefined): Error {
    const message = body?.error?.message ?? `HTTP ${response.status}`;
    if (response.status === 401) {
      this.token = undefined; // revoked or expired early: fetch a new one on the retry
      return new DirectoryUnavailable(`Graph refused the token: ${message}`);
    }
    if (response.status === 429) {
      const seconds = Number(response.headers.get('retry-after'));
      return new DirectoryUnavailable(`Graph is throttling: ${message}`, Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 5_000);
    }
    if (response.status >= 500 || response.status === 408) return new DirectoryUnavailable(`Graph ${response.status}: ${message}`);
    if (response.status === 404) return new DirectoryRefusal(message, 'not-found');
    if (/already exists/i.test(message)) return new DirectoryRefusal(message, 'account-exists');
    return new DirectoryRefusal(`Graph ${response.status}: ${message}`, 'invalid-request');
  }

  private fetch(url: string, init: RequestInit): Promise<Response> {
    return fetch(url, { ...init, signal: AbortSignal.timeout(this.options.timeoutMs) });
  }
}

/** A password meeting B2C's complexity rules: 24 characters from all four classes. */
export function generatePassword(): string {
  const classes = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!@#$%^&*-_=+?'];
  const all = classes.join('');
  const chars = classes.map((set) => set[randomInt(set.length)]!);
  const bytes = randomBytes(20);
  for (const byte of bytes) chars.push(all[byte % all.length]!);
  for (let i = chars.length - 1; i > 0; i -= 1) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
