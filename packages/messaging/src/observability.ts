import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Attributes, type Span } from '@opentelemetry/api';
import { DOMAIN_EXCHANGE } from './topology';

/** What the messaging runtime reports; a service wires it to its metrics (see service-kit's ServiceMetrics). */
export interface MessagingObserver {
  published?(routingKey: string): void;
  processed?(queue: string, routingKey: string, outcome: ProcessingOutcome, seconds: number): void;
  parked?(queue: string, reason: string): void;
}

/** `returned`: put back on the work queue with its attempt count unchanged, the database being unreachable. */
export type ProcessingOutcome = 'processed' | 'duplicate' | 'retried' | 'parked' | 'handed-to-saga' | 'returned';

const tracer = trace.getTracer('@onboarding/messaging');

type Carrier = Record<string, unknown>;

const getter = {
  keys: (carrier: Carrier) => Object.keys(carrier),
  get: (carrier: Carrier, key: string) => {
    const value = carrier[key];
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    return typeof value === 'string' ? value : undefined;
  },
};

/**
 * Runs a publish inside a PRODUCER span whose parent is the trace context stored with the outbox row (the
 * transaction that wrote the event), and hands the span's own context to `publish` as headers.
 */
export async function withPublishSpan(
  routingKey: string,
  stored: Carrier,
  attributes: Attributes,
  publish: (traceHeaders: Record<string, string>) => Promise<void>,
): Promise<void> {
  const parent = propagation.extract(ROOT_CONTEXT, stored, getter);
  const span = tracer.startSpan(
    `publish ${routingKey}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': DOMAIN_EXCHANGE,
        'messaging.rabbitmq.destination.routing_key': routingKey,
        ...attributes,
      },
    },
    parent,
  );
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent, span), headers);
  try {
    await publish(headers);
  } catch (err) {
    fail(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs the processing of one delivery inside a CONSUMER span parented by the trace context in the message
 * headers: the publisher's, unchanged through retries and replays, so they stay in the original trace.
 */
export async function withProcessSpan<T>(routingKey: string, headers: Carrier, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  const parent = propagation.extract(ROOT_CONTEXT, headers, getter);
  const span = tracer.startSpan(
    `process ${routingKey}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': DOMAIN_EXCHANGE,
        'messaging.rabbitmq.destination.routing_key': routingKey,
        ...attributes,
      },
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (err) {
    fail(span, err);
    throw err;
  } finally {
    span.end();
  }
}

function fail(span: Span, err: unknown): void {
  span.recordException(err as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
}
