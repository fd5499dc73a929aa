import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';

export interface FakeGraphUser {
  id: string;
  accountEnabled: boolean;
  displayName: string;
  givenName?: string;
  surname?: string;
  mobilePhone?: string;
  identities: { signInType: string; issuer: string; issuerAssignedId: string }[];
  passwordProfile?: { password: string; forceChangePasswordNextSignIn?: boolean };
  [extension: string]: unknown;
}

interface Fault {
  status: number;
  retryAfterSeconds?: number;
  delayMs?: number;
  /** The error body's message; Graph's own messages sometimes quote the request's values. */
  message?: string;
}

/**
 * An HTTP fake of the parts of Microsoft Graph (and the token endpoint) a B2C integration uses, following
 * Graph's documented request and error shapes: client-credentials tokens, `identities/any(...)` filters,
 * 201/204 answers, `{ error: { code, message } }` bodies, 429 with Retry-After. Faults can be queued.
 */
export class GraphFake {
  readonly users = new Map<string, FakeGraphUser>();
  /** Deleted users, restorable until removed from here (Graph keeps them 30 days). */
  readonly deletedItems = new Map<string, FakeGraphUser>();
  readonly requests: { method: string; url: string }[] = [];
  tokensIssued = 0;
  private readonly tokens = new Set<string>();
  private readonly faults: Fault[] = [];
  private server?: FastifyInstance;
  baseUrl = '';

  constructor(
    readonly tenant = 'fleet.onmicrosoft.com',
    readonly clientId = 'client-id',
    readonly clientSecret = 'client-secret',
  ) {}

  get tokenUrl(): string {
    return `${this.baseUrl}/${this.tenant}/oauth2/v2.0/token`;
  }

  /** The identity service's settings that point its Graph provider at this fake. */
  identityEnvironment(extensionsAppId = '3fa85f64-5717-4562-b3fc-2c963f66afa6'): Record<string, string> {
    return {
      IDENTITY_PROVIDER: 'graph',
      B2C_TENANT: this.tenant,
      B2C_CLIENT_ID: this.clientId,
      B2C_CLIENT_SECRET: this.clientSecret,
      B2C_EXTENSIONS_APP_ID: extensionsAppId,
      GRAPH_TOKEN_URL: this.tokenUrl,
      GRAPH_BASE_URL: this.baseUrl,
    };
  }

  /** The next `count` Graph calls (not token calls) answer with `status` (and Retry-After), or hang for `delayMs`. */
  failNext(count: number, fault: Fault): void {
    for (let i = 0; i < count; i += 1) this.faults.push(fault);
  }

  /** A user created outside the platform, e.g. to provoke "already exists". */
  seed(email: string, extra: Partial<FakeGraphUser> = {}): FakeGraphUser {
    const user: FakeGraphUser = {
      id: randomUUID(),
      accountEnabled: true,
      displayName: 'Existing User',
      identities: [{ signInType: 'emailAddress', issuer: this.tenant, issuerAssignedId: email.toLowerCase() }],
      ...extra,
    };
    this.users.set(user.id, user);
    return user;
  }

  findByEmail(email: string): FakeGraphUser[] {
    return [...this.users.values()].filter((user) =>
      user.identities.some((identity) => identity.issuerAssignedId.toLowerCase() === email.toLowerCase()),
    );
  }

  async start(): Promise<void> {
    const app = Fastify();
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    app.post('/:tenant/oauth2/v2.0/token', async (request, reply) => {
      const form = request.body as Record<string, string>;
      if (form.grant_type !== 'client_credentials' || form.scope !== 'https://graph.microsoft.com/.default') {
        return reply.status(400).send({ error: 'invalid_request', error_description: 'AADSTS900144: bad grant or scope' });
      }
      if (form.client_id !== this.clientId || form.client_secret !== this.clientSecret) {
        return reply.status(401).send({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
      }
      const token = randomUUID();
      this.tokens.add(token);
      this.tokensIssued += 1;
      return { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token };
    });

    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/v1.0/')) return;
      this.requests.push({ method: request.method, url: request.url });
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      if (!token || !this.tokens.has(token)) {
        return graphError(reply, 401, 'InvalidAuthenticationToken', 'Access token is empty or invalid.');
      }
      const fault = this.faults.shift();
      if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault && fault.status) {
        if (fault.retryAfterSeconds !== undefined) reply.header('retry-after', String(fault.retryAfterSeconds));
        const code = fault.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable';
        return graphError(reply, fault.status, code, fault.message ?? `Injected ${fault.status}`);
      }
      return undefined;
    });

    app.get('/v1.0/users', async (request, reply) => {
      const filter = (request.query as Record<string, string>).$filter ?? '';
      const match = /^identities\/any\(c:c\/issuerAssignedId eq '((?:[^']|'')*)' and c\/issuer eq '((?:[^']|'')*)'\)$/.exec(filter);
      if (!match) return graphError(reply, 400, 'Request_UnsupportedQuery', 'Unsupported or invalid query filter clause specified.');
      const email = match[1]!.replace(/''/g, "'");
      const issuer = match[2]!.replace(/''/g, "'");
      const found = [...this.users.values()].filter((user) =>
        user.identities.some((identity) => identity.issuer === issuer && identity.issuerAssignedId.toLowerCase() === email.toLowerCase()),
      );
      return { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users', value: found.map(withoutSecrets) };
    });

    app.post('/v1.0/users', async (request, reply) => {
      const body = request.body as Partial<FakeGraphUser>;
      const identity = body.identities?.[0];
      if (!body.displayName || body.accountEnabled === undefined || !body.passwordProfile?.password || !identity) {
        return graphError(reply, 400, 'Request_BadRequest', 'Invalid value specified for property of resource User.');
      }
      if (identity.signInType !== 'emailAddress' || identity.issuer !== this.tenant) {
        return graphError(reply, 400, 'Request_BadRequest', 'The issuer of the identity is not the tenant.');
      }
      if (this.findByEmail(identity.issuerAssignedId).length > 0) {
        return graphError(reply, 400, 'Request_BadRequest', 'Another object with the same value for property identities already exists.');
      }
      const user = { ...body, id: randomUUID() } as FakeGraphUser;
      this.users.set(user.id, user);
      return reply.status(201).send(withoutSecrets(user));
    });

    app.patch('/v1.0/users/:id', async (request, reply) => {
      const user = this.users.get((request.params as { id: string }).id);
      if (!user) return notFound(reply, (request.params as { id: string }).id);
      Object.assign(user, request.body as object);
      return reply.status(204).send();
    });

    app.delete('/v1.0/users/:id', async (request, reply) => {
      const id = (request.params as { id: string }).id;
      const user = this.users.get(id);
      if (!user) return notFound(reply, id);
      this.users.delete(id);
      this.deletedItems.set(id, user);
      return reply.status(204).send();
    });

    // Permanent deletion of a deleted user (https://learn.microsoft.com/graph/api/directory-deleteditems-delete).
    app.delete('/v1.0/directory/deletedItems/:id', async (request, reply) => {
      const id = (request.params as { id: string }).id;
      if (!this.deletedItems.delete(id)) return notFound(reply, id);
      return reply.status(204).send();
    });

    this.baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    this.server = app;
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }
}

function withoutSecrets(user: FakeGraphUser): Omit<FakeGraphUser, 'passwordProfile'> {
  const { passwordProfile: _hidden, ...visible } = user;
  return visible;
}

function graphError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.status(status).send({
    error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': randomUUID() } },
  });
}

function notFound(reply: FastifyReply, id: string): FastifyReply {
  return graphError(
    reply,
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}
