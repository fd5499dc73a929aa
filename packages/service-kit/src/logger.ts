import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger } from 'pino';
import { PERSONAL_FIELDS, redactUrl, scrubPersonalData } from './personal-data';

/**
 * Personal data never reaches the logs in clear: fields named like personal data (names included) are
 * censored up to three levels deep, request URLs have their query values redacted (`?q=` may be a name or an
 * address), and error messages and stacks (which may quote SQL values) have addresses and phone numbers masked.
 */
const REDACT_PATHS = PERSONAL_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);
function scrubbedError(err: unknown): unknown {
  // Much of the code logs `{ err: err.message }`: a string the error serializer would pass through untouched.
  if (typeof err === 'string') return scrubPersonalData(err);
  const serialised = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (serialised && typeof serialised === 'object') {
    for (const key of ['message', 'stack', 'detail']) {
      const value = serialised[key];
      if (typeof value === 'string') serialised[key] = scrubPersonalData(value);
    }
  }
  return serialised;
}

/**
 * Fastify logs `{ req }` for every request; this replaces its default serializer (the logger's own serializers
 * win over fastify's) with the same fields, the URL's query values redacted.
 */
function requestSummary(request: unknown): unknown {
  if (!request || typeof request !== 'object') return request;
  const { method, url, headers, host, ip, socket } = request as {
    method?: string;
    url?: string;
    headers?: Record<string, unknown>;
    host?: string;
    ip?: string;
    socket?: { remotePort?: number };
  };
  return {
    method,
    url: typeof url === 'string' ? redactUrl(url) : url,
    version: headers?.['accept-version'],
    host,
    remoteAddress: ip,
    remotePort: socket?.remotePort,
  };
}

export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  const options = {
    name: service,
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: scrubbedError,
      req: requestSummary,
      // The gateway's proxy (@fastify/reply-from) logs the upstream URL, query included, as `source`.
      source: (source: unknown) => (typeof source === 'string' ? redactUrl(source) : source),
    },
    // Every line logged inside a traced request or message carries its trace, to jump from logs to traces.
    mixin() {
      const spanContext = trace.getActiveSpan()?.spanContext();
      return spanContext && isSpanContextValid(spanContext) ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
