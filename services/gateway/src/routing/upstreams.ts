import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import proxy from '@fastify/http-proxy';
import { context, propagation } from '@opentelemetry/api';
import { AUTH_ROLE_HEADER, AUTH_SUBJECT_HEADER, AppError } from '@onboarding/service-kit';
import { callerOf, requireRole, type Caller, type TokenVerifier } from '../auth/authenticate';
import { countsAgainstUpstream, type UpstreamBreaker } from './upstream-breaker';
import type { Role } from '../auth/roles';

export interface UpstreamRoute {
  name: string;
  prefix: string;
  url: string;
  roles: readonly Role[];
}

/** A path whose answers are long-lived event streams; it goes through its own connection pool. */
export interface StreamRoute {
  /** The upstream's name, as in `UpstreamRoute`. */
  name: string;
  path: string;
}

export interface UpstreamRoutesOptions {
  routes: UpstreamRoute[];
  /** Stream paths under the routes' prefixes. */
  streams: readonly StreamRoute[];
  /** Connections the gateway opens to one upstream for streams, and so the streams it proxies at once (503 past it). */
  streamConnections: number;
  verifier: TokenVerifier;
  timeoutMs: number;
  breakers: Map<string, UpstreamBreaker>;
}

/** Connections to one upstream for ordinary requests; streams never take one of these (see StreamRoute). */
const REQUEST_CONNECTIONS = 128;

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller verified for this request, forwarded to the upstream in the gateway's own headers. */
    caller?: Caller;
  }
}

/**
 * The client's headers minus what only the gateway may say: the token stays here, and any `x-auth-*` header a
 * client sent is dropped, so the upstream only ever sees the caller the gateway verified (it trusts those
 * headers because nothing but the gateway can reach it).
 */
function forwardableHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'authorization' && !name.startsWith('x-auth-')));
}

/**
 * Every public `/v1` route: authenticate, authorise by role, then proxy to the owning service with the
 * request id and caller forwarded. Upstream failures come back as problem+json (502/503/504).
 */
export async function upstreamRoutes(app: FastifyInstance, options: UpstreamRoutesOptions): Promise<void> {
  for (const route of options.routes) {
    await app.register(async (scope) => proxyTo(scope, route, route.prefix, REQUEST_CONNECTIONS, options));
  }
  // A stream holds its upstream connection for as long as the client listens. Through the request pool, 128 open
  // streams left no connection for any other request to that upstream; their own pool, counted here, answers 503
  // once full rather than queueing a request behind streams that never end.
  let openStreams = 0;
  for (const stream of options.streams) {
    const route = options.routes.find((candidate) => candidate.name === stream.name && stream.path.startsWith(candidate.prefix))!;
    // Counted once the caller is admitted, so a refused call (401, 403) never takes a place.
    const admitStream = (reply: FastifyReply): void => {
      if (openStreams >= options.streamConnections) {
        reply.header('retry-after', '2');
        throw new AppError({
          status: 503,
          code: 'streams-exhausted',
          title: 'Too many open streams',
          detail: `The gateway proxies at most ${options.streamConnections} streams to the ${route.name} service at once; retry later`,
        });
      }
      openStreams += 1;
      reply.raw.once('close', () => (openStreams -= 1));
    };
    await app.register(async (scope) => proxyTo(scope, route, stream.path, options.streamConnections, options, admitStream));
  }
}

/**
 * One proxy to `route`'s upstream for the paths under `prefix`, with a pool of `connections` connections of its
 * own; `admit` may refuse an authorised call before the breaker is asked.
 */
async function proxyTo(
  scope: FastifyInstance,
  route: UpstreamRoute,
  prefix: string,
  connections: number,
  options: UpstreamRoutesOptions,
  admit?: (reply: FastifyReply) => void,
): Promise<void> {
  const breaker = options.breakers.get(route.name)!;
  await scope.register(proxy, {
    upstream: route.url,
    prefix,
    rewritePrefix: prefix,
    undici: { headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs, connections },
    // No retries: by default @fastify/reply-from repeats a GET that met a 503 up to ten times, multiplying the
    // load on the very upstream that said it cannot take more, and the breaker saw one call where ten were made.
    // The 503 goes to the client, and counts once.
    retryMethods: [],
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- @fastify/http-proxy types preHandler as a callback hook, but hands it to fastify.route(), which awaits an async hook
    preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
      const caller = await callerOf(request, options.verifier);
      requireRole(caller, route.roles);
      admit?.(reply);
      const admitted = breaker.admit();
      if (!admitted) {
        throw new AppError({
          status: 503,
          code: 'upstream-unavailable',
          title: 'Upstream unavailable',
          detail: `The ${route.name} service is failing; not calling it for now`,
          extensions: { retryAfterSeconds: Math.ceil(breaker.resetTimeoutMs / 1000) },
        });
      }
      // Settled when the exchange with the client is over, however it ended. 'close' follows a finished answer
      // (502/503/504, the gateway's own included, count against the upstream) and also a client that went away
      // mid-flight, for which fastify runs no onResponse hook: a half-open breaker's trial would otherwise stay
      // pending for good. A call the client abandoned is no failure of the upstream's (else anyone could keep a
      // breaker open by abandoning its trials); if the upstream is still failing, the next calls reopen it.
      reply.raw.once('close', () => admitted(reply.raw.writableFinished && countsAgainstUpstream(reply.statusCode)));
      request.caller = caller;
    },
    replyOptions: {
      rewriteRequestHeaders: (request, headers) => {
        const forwarded = forwardableHeaders(headers);
        // The proxy calls upstreams through undici, which the HTTP instrumentation does not see: carry the
        // trace on by hand so the upstream's work joins the gateway's trace.
        const traceContext: Record<string, string> = {};
        propagation.inject(context.active(), traceContext);
        return {
          ...forwarded,
          ...traceContext,
          'x-request-id': request.id,
          'x-correlation-id': headers['x-correlation-id'] ?? request.id,
          ...(request.caller ? { [AUTH_SUBJECT_HEADER]: request.caller.subject, [AUTH_ROLE_HEADER]: request.caller.roles.join(',') } : {}),
        };
      },
      // reply.send(error) hands the error to the one problem+json error handler.
      onError: (reply, { error }: { error: Error & { statusCode?: number } }) => {
        const status = error.statusCode === 504 ? 504 : error.statusCode === 503 ? 503 : 502;
        reply.request.log.warn({ upstream: route.name, err: error.message }, 'upstream failed');
        reply.send(
          new AppError({
            status,
            code: status === 504 ? 'upstream-timeout' : 'upstream-unavailable',
            title: status === 504 ? 'Upstream timed out' : 'Upstream unavailable',
            detail: `The ${route.name} service did not answer`,
          }),
        );
      },
    },
  });
}
