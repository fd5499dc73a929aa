import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import proxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy';
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
 * The client's headers minus what only the gateway may say: the token and the cookies (the console session) stay here, and any `x-auth-*` header a
 * client sent is dropped, so the upstream only ever sees the caller the gateway verified (it trusts those
 * headers because nothing but the gateway can reach it).
 */
function forwardableHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'authorization' && name !== 'cookie' && !name.startsWith('x-auth-')));
}

/**
 * The admitted calls whose outcome the breaker has not been told yet, by the answer they belong to. Module-wide, with
 * one shared 'close' listener, so a proxied call costs the breaker no closure or promise of its own; entries go when
 * settled, and with the answer otherwise.
 */
const pendingCalls = new WeakMap<ServerResponse, UpstreamBreaker>();

/** Tells the breaker of the call answered by `response` its outcome, the first time only. */
function settleCall(response: ServerResponse, failed: boolean): void {
  const breaker = pendingCalls.get(response);
  if (!breaker) return;
  pendingCalls.delete(response);
  breaker.settle(failed);
}

/** The exchange ended; if no head was sent, the client went away first, which is no failure of the upstream's. */
function settleAbandonedCall(this: ServerResponse): void {
  settleCall(this, false);
}

/** The JSON body as read, unparsed: the upstream parses and validates it. */
function keepBuffer(_request: FastifyRequest, body: Buffer, done: (err: Error | null, body?: Buffer) => void): void {
  done(null, body);
}

/** Any other body is left unread, for the proxy to stream to the upstream. */
function passStream(_request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: IncomingMessage) => void): void {
  done(null, payload);
}

/**
 * Calls the upstream. A JSON body goes as the one buffer it was read into: undici writes it with the head, with its
 * content-length, where the request stream was piped through chunk by chunk (a stream per request, and an upstream
 * that sees the body only as it trickles in). Answers are never buffered: an event stream flows on as it comes.
 */
const forwardBody: NonNullable<FastifyHttpProxyOptions['handler']> = (request, reply, dest, options) => {
  if (!Buffer.isBuffer(request.body)) return reply.from(dest, options);
  return reply.from(dest, { ...options, body: request.body, contentType: request.headers['content-type'] });
};

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
  // The breaker learns a call's outcome when the answer's head is sent, not when the exchange ends: a stream's
  // exchange lasts as long as the client listens (hours), and a half-open breaker whose trial was a stream stayed
  // half-open, refusing every other call to the upstream, until the stream ended. The head says all the breaker
  // needs: the upstream answered, and how (or the gateway answered 502/504 for it).
  // A callback hook, not an async one: no promise per answer.
  scope.addHook('onSend', (_request, reply, payload, done) => {
    if (pendingCalls.has(reply.raw)) {
      // A client gone before the head is no failure of the upstream's (the gateway's own 502 for the call it
      // abandoned would otherwise count), as with the 'close' of the exchange below.
      const clientGone = reply.raw.destroyed || reply.raw.socket?.destroyed !== false;
      settleCall(reply.raw, !clientGone && countsAgainstUpstream(reply.statusCode, reply.hasHeader('retry-after')));
    }
    done(null, payload);
  });
  // JSON bodies are read whole (within BODY_LIMIT_BYTES, chunked ones too) and sent on as one buffer with its
  // content-length; any other body is streamed through as @fastify/http-proxy does by default.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, keepBuffer);
  scope.addContentTypeParser('*', passStream);
  await scope.register(proxy, {
    upstream: route.url,
    prefix,
    rewritePrefix: prefix,
    proxyPayloads: false,
    handler: forwardBody,
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
      if (!breaker.admit()) {
        throw new AppError({
          status: 503,
          code: 'upstream-unavailable',
          title: 'Upstream unavailable',
          detail: `The ${route.name} service is failing; not calling it for now`,
          extensions: { retryAfterSeconds: Math.ceil(breaker.resetTimeoutMs / 1000) },
        });
      }
      // Settled when the answer's head is sent (onSend above: 502/503/504, the gateway's own included, count
      // against the upstream), or else when the exchange ends without one: a client that went away before the
      // upstream answered, for which no head is ever sent; a half-open breaker's trial would otherwise stay pending
      // for good. A call the client abandoned is no failure of the upstream's (else anyone could keep a breaker open
      // by abandoning its trials); if the upstream is still failing, the next calls reopen it. Only the first
      // settlement counts.
      pendingCalls.set(reply.raw, breaker);
      reply.raw.on('close', settleAbandonedCall);
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
