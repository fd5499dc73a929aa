import { readFileSync } from 'node:fs';
import amqplib from 'amqplib';
import { CONSUMING_SERVICES, SERVICES } from '@onboarding/contracts';
import { DOMAIN_EXCHANGE, listParked, platformParkedTables } from '@onboarding/messaging';
import { GraphFake, OtlpReceiver, SPAN_KIND, eventually, type ReceivedSpan } from '@onboarding/test-infra';
import { LocalPlatform } from '../src/local-platform/local-platform';

/**
 * A registration, a search by a personal query string and messages that fail with personal data, through the
 * whole platform exporting real traces (OTLP/HTTP JSON): no span — attributes, events, status, resource, name —
 * no parked message's headers and no log line may contain the person's name, address or phone number.
 */
const PERSON = {
  firstName: 'Zebulon',
  lastName: 'Quillfeather',
  email: 'zebulon.quillfeather@example.org',
  phone: '+44 7700 900123',
};
const NEW_PHONE = '+44 7700 900124';
/** A phone number's national digits with any separators between them (`+44 7700-900123`, `447700900123`, `(7700) 900 123`). */
const inAnySpacing = (phone: string) => new RegExp(phone.replace(/^\+44/, '').replace(/\D/g, '').split('').join('[\\s().+-]*'));
const FORBIDDEN: readonly (string | RegExp)[] = [
  PERSON.firstName,
  PERSON.lastName,
  PERSON.email,
  PERSON.email.replace('@', '%40'),
  inAnySpacing(PERSON.phone),
  inAnySpacing(NEW_PHONE),
];

/** What in `text` gives the person away, if anything (case-insensitive for the words). */
function leaks(text: string): string[] {
  return FORBIDDEN.filter((needle) => (typeof needle === 'string' ? text.toLowerCase().includes(needle.toLowerCase()) : needle.test(text))).map(
    String,
  );
}

const receiver = new OtlpReceiver();
const graph = new GraphFake();
const platform = new LocalPlatform();

beforeAll(async () => {
  await receiver.start();
  await graph.start();
  await platform.start('personal-data', {
    env: { ...receiver.environment(), ...graph.identityEnvironment(), RETRY_DELAYS_MS: '100,200', GRAPH_TIMEOUT_MS: '10000' },
  });
}, 120_000);

afterAll(async () => {
  await platform.stop();
  await graph.stop();
  await receiver.stop();
});

/** Each part of a span an exporter sends, by where it is, as text. */
const partsOf = (span: ReceivedSpan): [string, string][] => [
  ['name', span.name],
  ...Object.entries(span.attributes).map(([key, value]): [string, string] => [key, String(value)]),
  ...span.events.map((event, index): [string, string] => [`event ${index} ${event.name}`, JSON.stringify(event.attributes)]),
  ['status', span.status.message ?? ''],
  ['resource', JSON.stringify(span.resource)],
];

describe('no personal data in traces, broker headers or logs', () => {
  let driverId: string;

  it('registers a driver, searches by a personal query and drives failing messages to the parking lots', async () => {
    const registered = await platform.api('POST', '/v1/drivers', PERSON);
    expect(registered.status).toBe(202);
    driverId = registered.body.id as string;
    const active = await eventually(
      async () => {
        const response = await platform.api('GET', `/v1/drivers/${driverId}`);
        return response.body.status === 'ACTIVE' ? response.body : undefined;
      },
      { timeoutMs: 30_000, description: 'ACTIVE' },
    );

    // Personal query strings, answered (recipient, the driver search by address and by name) and refused (an unknown parameter).
    expect((await platform.api('GET', `/v1/notifications?recipient=${encodeURIComponent(PERSON.email)}&limit=5`)).status).toBe(200);
    expect((await platform.api('GET', `/v1/drivers?q=${encodeURIComponent(PERSON.email)}`)).status).toBe(200);
    expect((await platform.api('GET', `/v1/drivers?status=ACTIVE&q=${encodeURIComponent(PERSON.lastName)}`)).status).toBe(200);
    expect((await platform.api('GET', `/v1/drivers?name=${encodeURIComponent(`${PERSON.firstName} ${PERSON.lastName}`)}`)).status).toBe(400);

    // An update the directory keeps refusing with a message that quotes the person: retried, then parked.
    graph.failNext(20, { status: 503, message: `The mailbox ${PERSON.email} (${PERSON.phone}) is temporarily unavailable` });
    const updated = await platform.api('PATCH', `/v1/drivers/${driverId}`, { version: active.version, phone: NEW_PHONE });
    expect(updated.status).toBe(200);

    // A body that is not JSON, but starts like a registration: every consumer of registrations parks it.
    const connection = await amqplib.connect(platform.amqpUrl);
    const channel = await connection.createConfirmChannel();
    const body = `{"type":"driver.registered","data":{"firstName":"${PERSON.firstName}","lastName":"${PERSON.lastName}","email":"${PERSON.email}","phone":"${PERSON.phone}"`;
    channel.publish(DOMAIN_EXCHANGE, 'driver.registered.v2', Buffer.from(body), { messageId: 'broken-registration', persistent: true });
    await channel.waitForConfirms();
    await connection.close();

    const identityLot = { ...platformParkedTables(platform.databaseUrl), queues: ['identity.events'] };
    const parked = await eventually(
      async () => {
        const messages = await listParked(identityLot);
        const reasons = messages.map((message) => message.reason).sort();
        return reasons.includes('retries-exhausted') && reasons.includes('unparseable') ? messages : undefined;
      },
      { timeoutMs: 30_000, description: 'the failed update and the broken body in the identity parking lot' },
    );
    const exhausted = parked.find((message) => message.reason === 'retries-exhausted')!;
    expect(exhausted.error.length).toBeGreaterThan(0); // the reason is still recorded, scrubbed
    // Everything a listing shows of any parked message (ids, reason, error, payload) names nobody; the personal
    // values a replay needs are kept in their own column, which no listing reads.
    for (const message of await listParked(platformParkedTables(platform.databaseUrl))) {
      expect({ queue: message.sourceQueue, leaks: leaks(JSON.stringify(message)) }).toEqual({ queue: message.sourceQueue, leaks: [] });
    }
  });

  it('exports no span that names the person', async () => {
    // The registration's trace reached every service, and the personal requests and the parked deliveries are traced.
    await eventually(
      () =>
        CONSUMING_SERVICES.every(({ name }) => receiver.spans.some((span) => span.service === name && span.kind === SPAN_KIND.CONSUMER)) &&
        receiver.spans.some((span) => span.service === 'notification' && span.kind === SPAN_KIND.SERVER && 'url.query' in span.attributes) &&
        receiver.spans.some((span) => span.attributes['messaging.outcome'] === 'parked'),
      { timeoutMs: 20_000, description: 'consumer, search and parking spans' },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the last batches (OTEL_BSP_SCHEDULE_DELAY is 200 ms)

    // Where exactly a span gives the person away: service, span, attribute (or event, status, resource).
    const leaking = receiver.spans.flatMap((span) =>
      partsOf(span)
        .filter(([, text]) => leaks(text).length > 0)
        .map(([where, text]) => `${span.service} ${span.name} ${where}: ${text.slice(0, 200)}`),
    );
    expect(leaking).toEqual([]);

    const statements = receiver.spans.filter((span) => typeof span.attributes['db.query.text'] === 'string');
    expect(statements.some((span) => /insert into .* values \(\?/i.test(String(span.attributes['db.query.text'])))).toBe(true);
    const search = receiver.spans.find((span) => span.service === 'notification' && 'url.query' in span.attributes)!;
    expect(search.attributes['url.query']).toBe('recipient=REDACTED&limit=5');
    // Whatever the receiver does not parse is in the raw export bodies.
    expect(receiver.payloads.flatMap(leaks)).toEqual([]);
  });

  it('writes no log line that names the person', () => {
    for (const { name: service } of SERVICES) {
      const log = readFileSync(platform.system.logFile(service), 'utf8');
      expect({ service, leaks: leaks(log) }).toEqual({ service, leaks: [] });
    }
  });
});
