import { randomUUID } from 'node:crypto';
import { type MikroORM } from '@mikro-orm/core';
import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { DriverRegisteredV1 } from '@onboarding/contracts';
import { EventProbe, eventually, isolatedEnvironment } from '@onboarding/test-infra';
import {
  Broker,
  CommittedOutboxPublisher,
  DOMAIN_EXCHANGE,
  MessageConsumer,
  OutboxRelay,
  TransientMessageError,
  addToOutbox,
  handlerFor,
  publishOutboxAfterCommit,
  listParked,
  replayParked,
} from '../src';
import { sampleRegistration } from './sample-registration';
import { ormWithOutbox } from './fixtures/outbox-database';

const SCHEMA = 'tracing_test';
const logger = pino({ level: 'silent' });
const exporter = new InMemorySpanExporter();

let environment: Awaited<ReturnType<typeof isolatedEnvironment>>;
let orm: MikroORM;
let broker: Broker;
let relay: OutboxRelay;
let publisher: CommittedOutboxPublisher;
/** Whether commits hand their rows to the publisher; when not, the relay publishes them after its grace period. */
let publishAfterCommit = true;
let consumer: MessageConsumer;
let probe: EventProbe;
let failuresLeft = 0;
let parkNext = false;
const handled: string[] = [];

beforeAll(async () => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  environment = await isolatedEnvironment('tracing');
  orm = await ormWithOutbox(environment.databaseUrl, SCHEMA);
  broker = new Broker({ url: environment.amqpUrl, connectionName: 'tracing', logger });
  await broker.waitUntilConnected(10_000);
  // A grace period well above the publisher's few milliseconds: on the happy path each event is published once.
  relay = new OutboxRelay({ databaseUrl: environment.databaseUrl, schema: SCHEMA, broker, logger, pollIntervalMs: 100, graceMs: 1_000 });
  relay.start();
  publisher = new CommittedOutboxPublisher({ databaseUrl: environment.databaseUrl, schema: SCHEMA, broker, logger });
  publisher.start();
  publishOutboxAfterCommit(orm, { publishCommitted: (rows) => (publishAfterCommit ? publisher.publishCommitted(rows) : undefined) }, logger);
  consumer = new MessageConsumer({
    service: 'test',
    queue: 'traced.events',
    schema: SCHEMA,
    broker,
    orm,
    logger,
    retryDelaysMs: [50, 50, 50],
    trustedPublisher: () => broker.user,
    handlers: [
      handlerFor(DriverRegisteredV1, async (event) => {
        if (parkNext) throw new Error('broken until replayed');
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw new TransientMessageError('not yet');
        }
        handled.push(event.id);
      }),
    ],
  });
  await consumer.start();
  probe = await EventProbe.attach(environment.amqpUrl, DOMAIN_EXCHANGE);
});

afterAll(async () => {
  await probe?.close();
  await consumer?.stop();
  await publisher?.stop();
  await relay?.stop();
  await broker?.close();
  await orm?.close();
  await environment?.drop();
});

/** Writes an event to the outbox inside a traced "request", as a use case would. */
async function writeInsideRequest(): Promise<{ eventId: string; traceId: string; requestSpanId: string }> {
  const tracer = trace.getTracer('test');
  return tracer.startActiveSpan('POST /v1/drivers', { kind: SpanKind.SERVER }, async (span) => {
    const em = orm.em.fork();
    const driverId = randomUUID();
    const event = addToOutbox(em, DriverRegisteredV1, sampleRegistration(driverId), { source: 'test', subject: driverId, correlationId: 'corr' });
    await em.flush();
    span.end();
    return { eventId: event.id, traceId: span.spanContext().traceId, requestSpanId: span.spanContext().spanId };
  });
}

const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);

describe('trace context through the outbox and the consumer', () => {
  it.each([
    ['right after commit', true],
    ['by the relay', false],
  ])('publishes %s in the trace of the transaction that wrote the row, and processes in it', async (_how, afterCommit) => {
    publishAfterCommit = afterCommit;
    const { eventId, traceId, requestSpanId } = await writeInsideRequest().finally(() => (publishAfterCommit = true));
    await eventually(() => handled.includes(eventId), { description: 'processed' });
    await eventually(() => spansOf(traceId).some((span) => span.kind === SpanKind.CONSUMER), { description: 'consumer span' });
    const spans = spansOf(traceId);
    const producer = spans.find((span) => span.kind === SpanKind.PRODUCER)!;
    expect(producer.parentSpanContext?.spanId).toBe(requestSpanId);
    expect(producer.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': 'onboarding.events',
      'messaging.rabbitmq.destination.routing_key': 'driver.registered.v1',
      'messaging.message.id': eventId,
      'messaging.message.conversation_id': 'corr',
    });
    const consumerSpan = spans.find((span) => span.kind === SpanKind.CONSUMER)!;
    expect(consumerSpan.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    const published = probe.received.find((message) => message.body.id === eventId)!;
    expect(String(published.properties.headers?.traceparent)).toContain(traceId);
  });

  it('keeps a retried message in its original trace', async () => {
    failuresLeft = 2;
    const { eventId, traceId } = await writeInsideRequest();
    await eventually(() => handled.includes(eventId), { description: 'processed after two retries' });
    await eventually(() => spansOf(traceId).filter((span) => span.kind === SpanKind.CONSUMER).length === 3, { description: 'three attempts' });
    const attempts = spansOf(traceId).filter((span) => span.kind === SpanKind.CONSUMER);
    const producer = spansOf(traceId).find((span) => span.kind === SpanKind.PRODUCER)!;
    expect(attempts.map((span) => span.attributes['messaging.outcome']).sort()).toEqual(['processed', 'retried', 'retried']);
    for (const attempt of attempts) expect(attempt.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
  });

  it('keeps a message replayed from the parking lot in its original trace', async () => {
    parkNext = true;
    const { eventId, traceId } = await writeInsideRequest();
    const tables = { databaseUrl: environment.databaseUrl, services: [{ service: 'test', schema: SCHEMA }], queues: ['traced.events'] };
    await eventually(async () => (await listParked(tables)).length === 1, { description: 'parked' });
    parkNext = false;
    await replayParked({ ...tables, amqpUrl: environment.amqpUrl });
    await eventually(() => handled.includes(eventId), { description: 'processed after the replay' });
    await eventually(() => spansOf(traceId).some((span) => span.attributes['messaging.outcome'] === 'processed'), { description: 'span' });
    const outcomes = spansOf(traceId)
      .filter((span) => span.kind === SpanKind.CONSUMER)
      .map((span) => span.attributes['messaging.outcome']);
    expect(outcomes).toEqual(expect.arrayContaining(['retried', 'parked', 'processed']));
  });
});
