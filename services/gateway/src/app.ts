import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { BACKEND_SERVICES } from '@onboarding/contracts';
import { AppError, defineService, route } from '@onboarding/service-kit';
import { identify, jwksVerifier, sharedSecretVerifier, type TokenVerifier } from './auth/authenticate';
import { GATEWAY, GatewayEnv, gatewayConfigProblems, upstreamUrl, type GatewayConfig } from './config';
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

/** The proxy streams bodies through without parsing them, so the body limit is enforced here, up front. */
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
function identifyCallers(verifier: TokenVerifier) {
  return (http: FastifyInstance) => {
    http.addHook('onRequest', async (request) => {
      request.authentication = await identify(request, verifier);
    });
  };
}

/** The composition root of the one public door: no database, no broker, the same chassis. */
export const gatewayService = defineService({
  entry: GATEWAY,
  env: GatewayEnv,
  http: (config) => ({ bodyLimit: config.BODY_LIMIT_BYTES }),
  checkConfig: gatewayConfigProblems,
  compose: ({ config, logger }) => {
    const verifier = config.JWT_JWKS_URL
      ? jwksVerifier(config.JWT_JWKS_URL, config.JWT_ISSUER, config.JWT_AUDIENCE)
      : sharedSecretVerifier(config.JWT_SECRET, config.JWT_ISSUER, config.JWT_AUDIENCE);
    const routes = upstreamsOf(config);
    const breakers = new Map(routes.map((upstream) => [upstream.name, new UpstreamBreaker(upstream.name, logger, config.UPSTREAM_BREAKER_RESET_MS)]));
    // Only the services it routes to: the mailer has no public route, so its state is none of the gateway's business.
    const watch = new UpstreamWatch(
      BACKEND_SERVICES.filter((entry) => entry.routes.length > 0).map((entry) => ({ name: entry.name, url: upstreamUrl(config, entry.name) })),
      config.UPSTREAM_PROBE_INTERVAL_MS,
      logger,
    );
    return {
      routes: [
        securityHeaders,
        rejectLargeBodies(config.BODY_LIMIT_BYTES),
        identifyCallers(verifier),
        route(rateLimit, {
          max: config.RATE_LIMIT_MAX,
          timeWindow: config.RATE_LIMIT_WINDOW_MS,
          // A client is the subject of its verified token, else its address: keying on whatever token arrives would
          // give every junk token a fresh allowance. The store is this instance's memory, so N replicas allow N× the limit.
          keyGenerator: (request) =>
            request.authentication && 'caller' in request.authentication
              ? `subject:${request.authentication.caller.subject}`
              : `address:${request.ip}`,
          allowList: (request) => /^\/(healthz|readyz|metrics|docs)/.test(request.url),
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
