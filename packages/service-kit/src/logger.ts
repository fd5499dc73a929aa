import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger } from 'pino';
import { scrubPersonalData } from './personal-data';

/**
 * Personal data never reaches the logs in clear: fields named like personal data are censored up to three
 * levels deep, and error messages and stacks (which may quote SQL values) have addresses and phone numbers
 * masked.
 */
const PERSONAL_FIELDS = ['email', 'phone', 'mobilePhone', 'recipient', 'to'];
const REDACT_PATHS = PERSONAL_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);
function scrubbedError(err: unknown): unknown {
  const serialised = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (serialised && typeof serialised === 'object') {
    for (const key of ['message', 'stack', 'detail']) {
      const value = serialised[key];
      if (typeof value === 'string') serialised[key] = scrubPersonalData(value);
    }
  }
  return serialised;
}

export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  const options = {
    name: service,
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: scrubbedError },
    // Every line logged inside a traced request or message carries its trace, to jump from logs to traces.
    mixin() {
      const spanContext = trace.getActiveSpan()?.spanContext();
      return spanContext && isSpanContextValid(spanContext) ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
