import type { FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { BACKEND_SERVICES } from '@onboarding/contracts';
import { AppError, defineService, isProduction, route } from '@onboarding/service-kit';
import { cachingVerifier, identify, jwksVerifier, sharedSecretVerifier, type TokenVerifier, type VerifiedToken } from './auth/authenticate';
import { CredentialChecks } from './auth/credential-checks';
import { SessionCookies, type Session } from './auth/session-cookie';
import { VerifiedTokenCache } from './auth/verified-token-cache';
import { GATEWAY, GatewayEnv, gatewayConfigProblems, upstreamUrl, type GatewayConfig } from './config';
import { defaultConsoleDir, serveConsole } from './console/serve-console';
import { signInRoutes } from './console/sign-in-routes';
import { openApiDocument } from './routing/openapi';
import { UpstreamWatch } from './routing/readiness';
import { UpstreamBreaker } from './routing/upstream-breaker';
import { upstreamRoutes, type StreamRoute, type UpstreamRoute } from './routing/upstreams';
import { securityHeaders } from './security-headers';

const GATEWAY_VERSION = (require('../package.json') as { version: string }).version;

/** Every public route of the service list, pointed at the service's URL from the config. */
function upstreamsOf(config: GatewayConfig): UpstreamRoute[] {
  return BACKEND_SERVICES.flatMap((entry) =>
    entry.routes.map((published) => ({ name: entry.name, prefix: published.prefix, url: upstreamUrl(config, entry.name), roles: published.roles })),
  );
}

/** The public paths whose answers are endless event streams: they get a connection pool of their own. */
const STREAM_ROUTES: readonly StreamRoute[] = [{ name: 'notification', path: '/v1/notifications/stream' }];

/**
 * A declared length over the limit is refused here, up front, before the token is even checked. JSON bodies are
 * then read whole within the same limit (routing/upstreams.ts: a chunked one too); other bodies are streamed
 * through unread, so this check is their limit.
 */
function rejectLargeBodies(limit: number) {
  return (http: FastifyInstance) => {
    http.addHook('onRequest', async (request) => {
      const length = Number(request.headers['content-length'] ?? 0);
      if (length > limit) {
        throw new AppError({
          status: 413,
          code: 'payload-too-large',
          title: 'Payload too large',
          detail: `Request bodies are limited to ${limit} bytes`,
        });
      }
    });
  };
}

/**
 * Verifies the credentials of every request as it arrives, before the rate limit, so the limit can key on who
 * the caller really is. A missing or invalid token is only recorded here; the route answers 401 for it.
 */
function identifyCallers(verifier: TokenVerifier, sessions: SessionCookies) {
  return (http: FastifyInstance) => {
    http.addHook('onRequest', async (request) => {
      request.authentication = await identify(request, verifier, sessions);
    });
  };
}

/** The composition root of the one public door: no database, no broker, the same chassis. */
export const gatewayService = defineService({
  entry: GATEWAY,
  env: GatewayEnv,
  http: (config) => ({ bodyLimit: config.BODY_LIMIT_BYTES }),
  checkConfig: gatewayConfigProblems,
  compose: ({ config, logger, metrics }) => {
    const checks = new CredentialChecks(metrics.registry);
    const cacheBounds = { maxEntries: config.TOKEN_CACHE_MAX_ENTRIES, ttlMs: config.TOKEN_CACHE_TTL_SECONDS * 1000 };
    const verifier = cachingVerifier(
      config.JWT_JWKS_URL
        ? jwksVerifier(config.JWT_JWKS_URL, config.JWT_ISSUER, config.JWT_AUDIENCE)
        : sharedSecretVerifier(config.JWT_SECRET, config.JWT_ISSUER, config.JWT_AUDIENCE),
      new VerifiedTokenCache<VerifiedToken>(cacheBounds),
      checks.counterFor('bearer'),
    );
    const sessions = new SessionCookies(config.SESSION_SECRET, config.SESSION_TTL_SECONDS, {
      cache: new VerifiedTokenCache<Session>(cacheBounds),
      count: checks.counterFor('session'),
    });
    const oidc =
      config.OIDC_ISSUER_URL && config.OIDC_CLIENT_ID && config.OIDC_REDIRECT_URL
        ? {
            issuerUrl: config.OIDC_ISSUER_URL,
            clientId: config.OIDC_CLIENT_ID,
            clientSecret: config.OIDC_CLIENT_SECRET,
            redirectUrl: config.OIDC_REDIRECT_URL,
          }
        : undefined;
    const routes = upstreamsOf(config);
    // One breaker per upstream, however many routes it publishes.
    const breakers = new Map(
      [...new Set(routes.map((upstream) => upstream.name))].map((name) => [
        name,
        new UpstreamBreaker(name, logger, config.UPSTREAM_BREAKER_RESET_MS),
      ]),
    );
    // Only the services it routes to: the mailer has no public route, so its state is none of the gateway's business.
    const watch = new UpstreamWatch(
      BACKEND_SERVICES.filter((entry) => entry.routes.length > 0).map((entry) => ({ name: entry.name, url: upstreamUrl(config, entry.name) })),
      config.UPSTREAM_PROBE_INTERVAL_MS,
      logger,
      // Its breaker opened on the failures of the outage; the upstream says it can serve again, so it is called again
      // now instead of after UPSTREAM_BREAKER_RESET_MS.
      (name) => breakers.get(name)?.upstreamReady(),
    );
    return {
      routes: [
        securityHeaders,
        rejectLargeBodies(config.BODY_LIMIT_BYTES),
        // Parses cookies for the console's session; registered at the root so every route's request has them.
        route(cookie, {}),
        identifyCallers(verifier, sessions),
        route(rateLimit, {
          max: config.RATE_LIMIT_MAX,
          timeWindow: config.RATE_LIMIT_WINDOW_MS,
          // A client is the subject of its verified token, else its address: keying on whatever token arrives would
          // give every junk token a fresh allowance. The store is this instance's memory, so N replicas allow N× the limit.
          keyGenerator: (request) =>
            request.authentication && 'caller' in request.authentication
              ? `subject:${request.authentication.caller.subject}`
              : `address:${request.ip}`,
          // The console's static files are the same for everyone and cached: counting them would only make a first
          // visit spend a tenth of the allowance.
          allowList: (request) => /^\/(healthz|readyz|metrics|docs|admin\/assets\/)/.test(request.url),
          errorResponseBuilder: (_request, context) =>
            new AppError({
              status: 429,
              code: 'rate-limited',
              title: 'Too many requests',
              detail: `At most ${context.max} requests per ${Math.round(config.RATE_LIMIT_WINDOW_MS / 1000)} s; retry in ${Math.ceil(context.ttl / 1000)} s`,
            }),
        }),
        // One OpenAPI document for client apps at /docs/json, Swagger UI at /docs; public like the health routes,
        // unless DOCS_ENABLED is false (then /docs is a 404 like any unknown route).
        ...(config.DOCS_ENABLED
          ? [
              route(swagger, { mode: 'static', specification: { document: openApiDocument(GATEWAY_VERSION) as never } }),
              route(swaggerUi, { routePrefix: '/docs' }),
            ]
          : []),
        ...(config.CONSOLE_ENABLED
          ? [
              route(signInRoutes, {
                sessions,
                oidc,
                // The development sign-in exists only outside production, whatever else the config says.
                devSignIn: !isProduction(process.env),
              }),
              route(serveConsole, { root: config.CONSOLE_DIR ?? defaultConsoleDir() }),
            ]
          : []),
        route(upstreamRoutes, {
          routes,
          streams: STREAM_ROUTES,
          streamConnections: config.STREAM_UPSTREAM_CONNECTIONS,
          verifier,
          timeoutMs: config.UPSTREAM_TIMEOUT_MS,
          breakers,
        }),
      ],
      // No readiness check: the gateway holds no state, so once it listens it can serve (see UpstreamWatch).
      observed: watch.observed(),
      workers: [watch],
      breakers: [...breakers.values()],
    };
  },
});
