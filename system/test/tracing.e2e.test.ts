import { readFileSync } from 'node:fs';
import { OtlpReceiver, SPAN_KIND, eventually, type ReceivedSpan } from '@onboarding/test-infra';
import { CONSUMING_SERVICES, SERVICES } from '@onboarding/contracts';
import { LocalPlatform } from '../src/local-platform/local-platform';

const receiver = new OtlpReceiver();
const platform = new LocalPlatform();

beforeAll(async () => {
  await receiver.start();
  await platform.start('tracing', { env: receiver.environment() });
}, 120_000);

afterAll(async () => {
  await platform.stop();
  await receiver.stop();
});

const services = (spans: ReceivedSpan[]) => [...new Set(spans.map((span) => span.service))].sort();

describe('one trace per registration (OpenTelemetry, OTLP/HTTP JSON)', () => {
  it('follows a registration from the gateway through every service in a single trace', async () => {
    const response = await platform.register(1, 'traced');
    expect(response.status).toBe(202);
    const id = response.body.id as string;
    await eventually(async () => (await platform.api('GET', `/v1/drivers/${id}`)).body.status === 'ACTIVE', { description: 'ACTIVE' });

    const root = await eventually(
      () =>
        receiver.spans.find(
          (span) => span.service === 'gateway' && span.kind === SPAN_KIND.SERVER && !span.parentSpanId && span.name.startsWith('POST'),
        ),
      { description: 'the gateway server span' },
    );
    const trace = await eventually(
      () => {
        const spans = receiver.trace(root.traceId);
        const consumersDone = CONSUMING_SERVICES.every(({ name: service }) =>
          spans.some((span) => span.service === service && span.kind === SPAN_KIND.CONSUMER),
        );
        // Spans arrive in batches from five processes: wait until every parent has arrived too.
        const ids = new Set(spans.map((span) => span.spanId));
        const complete = spans.every((span) => !span.parentSpanId || ids.has(span.parentSpanId));
        return consumersDone && complete ? spans : undefined;
      },
      { timeoutMs: 20_000, description: 'consumer spans of all four services in the trace' },
    );

    expect(services(trace)).toEqual(SERVICES.map((entry) => entry.name).sort());
    expect(trace.filter((span) => !span.parentSpanId)).toEqual([root]); // one root: the gateway's POST
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    for (const span of trace) if (span !== root) expect(byId.has(span.parentSpanId!)).toBe(true);

    const producers = trace.filter((span) => span.kind === SPAN_KIND.PRODUCER);
    const routingKeys = producers.map((span) => span.attributes['messaging.rabbitmq.destination.routing_key']);
    expect(routingKeys).toEqual(expect.arrayContaining(['driver.registered.v2', 'identity.account.created.v1', 'driver.activated.v1']));
    const anyString: unknown = expect.any(String); // @types/jest types its asymmetric matchers as any
    for (const producer of producers) {
      expect(producer.attributes).toMatchObject({
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'send',
        'messaging.destination.name': 'onboarding.events',
        'messaging.message.id': anyString,
        'messaging.message.conversation_id': anyString,
      });
    }
    const consumers = trace.filter((span) => span.kind === SPAN_KIND.CONSUMER);
    for (const consumer of consumers) {
      expect(consumer.attributes).toMatchObject({ 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'process' });
      expect(byId.get(consumer.parentSpanId!)?.kind).toBe(SPAN_KIND.PRODUCER); // each hop hangs off its publish
    }
    // The driver's relay publish hangs off the transaction that wrote the row, inside the gateway's request.
    const registeredPublish = producers.find(
      (span) => span.service === 'driver' && span.attributes['messaging.rabbitmq.destination.routing_key'] === 'driver.registered.v2',
    )!;
    const chain: ReceivedSpan[] = [];
    for (let span = byId.get(registeredPublish.parentSpanId!); span; span = span.parentSpanId ? byId.get(span.parentSpanId) : undefined) {
      chain.push(span);
    }
    expect(chain.map((span) => span.service)).toContain('driver');
    expect(chain.some((span) => span.service === 'driver' && span.kind === SPAN_KIND.SERVER)).toBe(true);
    expect(chain[chain.length - 1]).toBe(root);
    // Database work is traced too, inside the handlers.
    expect(trace.some((span) => span.service === 'identity' && span.kind === SPAN_KIND.CLIENT && /insert|select|INSERT|SELECT/.test(span.name))).toBe(
      true,
    );
  });

  it('serves Prometheus metrics that move with a registration', async () => {
    const scrape = async (service: 'driver' | 'mailer' | 'identity') => (await fetch(`${platform.system.url(service)}/metrics`)).text();
    const value = (text: string, metric: string) =>
      text
        .split('\n')
        .filter((line) => line.startsWith(metric))
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    const before = await scrape('driver');
    const response = await platform.register(2, 'metered');
    await eventually(async () => (await platform.api('GET', `/v1/drivers/${response.body.id as string}`)).body.status === 'ACTIVE', {
      description: 'ACTIVE',
    });
    const after = await eventually(
      async () => {
        const text = await scrape('driver');
        return value(text, 'saga_outcomes_total{') > value(before, 'saga_outcomes_total{') ? text : undefined;
      },
      { description: 'saga metrics to move' },
    );
    expect(value(after, 'outbox_published_total{')).toBeGreaterThan(value(before, 'outbox_published_total{'));
    expect(value(after, 'messages_processed_total{')).toBeGreaterThan(value(before, 'messages_processed_total{'));
    expect(after).toMatch(/^outbox_backlog\{service="driver"\} \d+/m);
    expect(after).toMatch(/^outbox_oldest_age_seconds\{service="driver"\}/m);
    expect(after).toMatch(/^registration_to_activation_seconds_count\{service="driver"\} [1-9]/m);
    expect(after).toMatch(/^message_processing_seconds_bucket/m);
    expect(await scrape('identity')).toMatch(/^circuit_breaker_state\{breaker="directory",service="identity"\} 0/m);
  });

  it('writes JSON logs with trace_id, and never an address in clear', async () => {
    const driverLog = readFileSync(platform.system.logFile('driver'), 'utf8');
    expect(driverLog).toMatch(/"trace_id":"[0-9a-f]{32}"/);
    for (const { name: service } of SERVICES) {
      const log = readFileSync(platform.system.logFile(service), 'utf8');
      expect(log).not.toMatch(/driver\.traced\.1@example\.com|driver\.metered\.2@example\.com/);
      expect(log).not.toContain('7946 0000');
    }
  });
});
