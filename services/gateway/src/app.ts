import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { createHash } from 'node:crypto';
import { AppError, createHttpServer, createLogger, healthRoutes } from '@onboarding/service-kit';
import { jwksVerifier, sharedSecretVerifier, type TokenVerifier } from './auth/authenticate';
import { openApiDocument } from './routing/openapi';
import { UpstreamBreaker } from './routing/upstream-breaker';
import type { GatewayConfig } from './config';
import { upstreamReady } from './routing/readiness';
import { upstreamRoutes, type UpstreamRoute } from './routing/upstreams';

export const SERVICE_NAME = 'gateway';
const GATEWAY_VERSION = (require('../package.json') as { version: string }).version;

export interface GatewayApp {
  http: FastifyInstance;
  logger: Logger;
  start(): Promise<string>;
  stop(): Promise<void>;
}

export function upstreamsOf(config: GatewayConfig): UpstreamRoute[] {
  return [
    { name: 'driver', prefix: '/v1/drivers', url: config.DRIVER_URL, roles: ['admin', 'dispatcher'] },
    { name: 'identity', prefix: '/v1/identity', url: config.IDENTITY_URL, roles: ['admin'] },
    { name: 'notification', prefix: '/v1/notifications', url: config.NOTIFICATION_URL, roles: ['admin'] },
  ];
}

/** The composition root of the one public door. */
export async function buildGatewayApp(
  config: GatewayConfig,
  logger: Logger = createLogger(SERVICE_NAME, config.LOG_LEVEL),
  verifier: TokenVerifier = config.JWT_JWKS_URL
    ? jwksVerifier(config.JWT_JWKS_URL, config.JWT_ISSUER, config.JWT_AUDIENCE)
    : sharedSecretVerifier(config.JWT_SECRET, config.JWT_ISSUER, config.JWT_AUDIENCE),
): Promise<GatewayApp> {
  const http = createHttpServer({ logger, bodyLimit: config.BODY_LIMIT_BYTES });
  // The proxy streams bodies through without parsing them, so the body limit is enforced here, up front.
  http.addHook('onRequest', async (request) => {
    const length = Number(request.headers['content-length'] ?? 0);
    if (length > config.BODY_LIMIT_BYTES) {
      throw new AppError({
        status: 413,
        code: 'payload-too-large',
        title: 'Payload too large',
        detail: `Request bodies are limited to ${config.BODY_LIMIT_BYTES} bytes`,
      });
    }
  });
  const routes = upstreamsOf(config);
  const breakers = new Map(routes.map((route) => [route.name, new UpstreamBreaker(route.name, logger, config.UPSTREAM_BREAKER_RESET_MS)]));
  await http.register(rateLimit, {
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    // A client is its credentials when it sends any (hashed: tokens never sit in memory as keys), else its address.
    keyGenerator: (request) => {
      const authorization = request.headers.authorization;
      return authorization ? createHash('sha256').update(authorization).digest('base64url') : request.ip;
    },
    allowList: (request) => /^\/(healthz|readyz|docs)/.test(request.url),
    errorResponseBuilder: (_request, context) =>
      new AppError({
        status: 429,
        code: 'rate-limited',
        title: 'Too many requests',
        detail: `At most ${context.max} requests per ${Math.round(config.RATE_LIMIT_WINDOW_MS / 1000)} s; retry in ${Math.ceil(context.ttl / 1000)} s`,
      }),
  });
  // One OpenAPI document for client apps at /docs/json, Swagger UI at /docs; public like the health routes.
  await http.register(swagger, { mode: 'static', specification: { document: openApiDocument(GATEWAY_VERSION) as never } });
  await http.register(swaggerUi, { routePrefix: '/docs' });
  await http.register(healthRoutes, {
    service: SERVICE_NAME,
    checks: {
      driver: upstreamReady(config.DRIVER_URL),
      identity: upstreamReady(config.IDENTITY_URL),
      mailer: upstreamReady(config.MAILER_URL),
      notification: upstreamReady(config.NOTIFICATION_URL),
    },
    details: () => ({ breakers: Object.fromEntries([...breakers].map(([name, breaker]) => [name, breaker.state])) }),
  });
  await http.register(upstreamRoutes, { routes, verifier, timeoutMs: config.UPSTREAM_TIMEOUT_MS, breakers });
  http.addHook('onClose', async () => {
    for (const breaker of breakers.values()) breaker.shutdown();
  });
  return {
    http,
    logger,
    start: () => http.listen({ host: config.HOST, port: config.GATEWAY_PORT }),
    stop: () => http.close(),
  };
}
