import { FastifyOtelInstrumentation } from '@fastify/otel';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
// NodeSDK builds its export processors from the OTEL_* variables only when given none of its own; this is
// that same function (sdk-node is pinned), so adding the scrubbing processor keeps every exporter setting.
import { getSpanProcessorsFromEnv } from '@opentelemetry/sdk-node/build/src/utils';
import { redactQuery, redactUrl } from '@onboarding/service-kit/personal-data';
import { PersonalDataSpanProcessor } from './personal-data-processor';
import { maskSqlLiterals } from './sql';

export interface Telemetry {
  readonly enabled: boolean;
  /** Flushes pending spans; never waits longer than `timeoutMs` (no collector must not slow a shutdown). */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** Tracing is on when an exporter is configured the standard way (OTEL_* variables) and not disabled. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER) return env.OTEL_TRACES_EXPORTER !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the OpenTelemetry Node SDK for one service, configured by the standard OTEL_* variables
 * (exporter, endpoint, protocol including http/json, sampler, batch delay). Must run before fastify, pg and
 * the HTTP modules are loaded, so each service's `main.ts` imports its `instrumentation.ts` first. Without
 * an exporter configured nothing is started and nothing costs anything.
 *
 * amqplib's auto-instrumentation is deliberately not used: amqp-connection-manager publishes from its own
 * worker, outside the context of the outbox row, so it would start unrelated traces and overwrite the
 * stored trace context. The messaging package creates the PRODUCER and CONSUMER spans itself.
 */
export function startTelemetry(serviceName: string, env: NodeJS.ProcessEnv = process.env): Telemetry {
  if (!tracingConfigured(env)) return { enabled: false, shutdown: async () => undefined };
  env.OTEL_SERVICE_NAME ??= serviceName;
  env.OTEL_METRICS_EXPORTER ??= 'none'; // metrics are served in Prometheus format at /metrics
  env.OTEL_LOGS_EXPORTER ??= 'none'; // logs go to stdout as JSON with trace_id / span_id
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME,
    // First, so every span is scrubbed (in onEnding) before the export processors take it.
    spanProcessors: [new PersonalDataSpanProcessor(), ...getSpanProcessorsFromEnv(undefined)],
    instrumentations: [
      new HttpInstrumentation({
        // Health probes would bury the interesting traces.
        ignoreIncomingRequestHook: (request) => /^\/(healthz|readyz|metrics)/.test(request.url ?? ''),
        ignoreOutgoingRequestHook: (request) => /\/(healthz|readyz)$/.test(request.path ?? ''),
        // A query may name a person (`?q=`, `?recipient=`): the hook's attributes override the instrumentation's
        // own url.query, whose built-in redaction only knows signature parameters.
        startIncomingSpanHook: (request) => {
          const query = (request.url ?? '').split('?')[1];
          return query ? { 'url.query': redactQuery(query.split('#')[0] ?? '') } : {};
        },
      }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        ignorePaths: (route) => /^\/(healthz|readyz|metrics)/.test(route.url),
        // @fastify/otel records the raw request URL, query included, as url.path.
        requestHook: (span, request) => {
          span.setAttribute('url.path', redactUrl(request.url));
        },
      }),
      new PgInstrumentation({
        // MikroORM 7 queries through pg's Pool, so every checkout would add pg-pool.connect / pg.connect spans
        // next to each query; 6 (knex's own pool) never showed them. Traces keep one span per statement.
        requireParentSpan: true,
        ignoreConnectSpans: true,
        // Would export every parameter value as db.postgresql.values (off by default; said so on purpose).
        enhancedDatabaseReporting: false,
        // MikroORM inlines the values into the statement text: the span keeps its shape, not its literals.
        requestHook: (span, { query }) => {
          span.setAttribute('db.query.text', maskSqlLiterals(query.text));
        },
      }),
    ],
  });
  sdk.start();
  return {
    enabled: true,
    shutdown: async (timeoutMs = 2_000) => {
      await Promise.race([sdk.shutdown().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    },
  };
}
