import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createHttpServer, createLogger, healthRoutes } from '@onboarding/service-kit';
import { sharedSecretVerifier, type TokenVerifier } from './auth/authenticate';
import type { GatewayConfig } from './config';
import { upstreamReady } from './routing/readiness';
import { upstreamRoutes, type UpstreamRoute } from './routing/upstreams';

export const SERVICE_NAME = 'gateway';

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
  verifier: TokenVerifier = sharedSecretVerifier(config.JWT_SECRET, config.JWT_ISSUER, config.JWT_AUDIENCE),
): Promise<GatewayApp> {
  const http = createHttpServer({ logger, bodyLimit: config.BODY_LIMIT_BYTES });
  await http.register(healthRoutes, {
    service: SERVICE_NAME,
    checks: {
      driver: upstreamReady(config.DRIVER_URL),
      identity: upstreamReady(config.IDENTITY_URL),
      mailer: upstreamReady(config.MAILER_URL),
      notification: upstreamReady(config.NOTIFICATION_URL),
    },
  });
  await http.register(upstreamRoutes, { routes: upstreamsOf(config), verifier, timeoutMs: config.UPSTREAM_TIMEOUT_MS });
  return {
    http,
    logger,
    start: () => http.listen({ host: config.HOST, port: config.GATEWAY_PORT }),
    stop: () => http.close(),
  };
}
