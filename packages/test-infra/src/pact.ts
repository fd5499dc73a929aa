import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Matchers, MessageConsumerPact, synchronousBodyHandler } from '@pact-foundation/pact';

/** Where every pact of the platform is written and read: committed with the contracts, no broker needed. */
export const PACT_DIRECTORY = join(__dirname, '..', '..', '..', 'contracts', 'pacts');

const { like, uuid, integer, regex, datetime } = Matchers;

/** Matchers for the field shapes of the contracts. */
export const match = {
  like,
  uuid,
  integer,
  timestamp: (example: string) => datetime("yyyy-MM-dd'T'HH:mm:ss.SSSX", example),
  email: (example: string) => regex('^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$', example),
  phone: (example: string) => regex('^\\+?[0-9 ()-]{7,20}$', example),
  oneOf: (values: readonly string[], example: string) => regex(`^(${values.join('|')})$`, example),
};

/**
 * A message pact for one consumer–provider pair. The pact file is rewritten from scratch by each run of the
 * consumer's test, so an interaction the consumer no longer needs disappears from it.
 */
export function messagePact(consumer: string, provider: string): MessageConsumerPact {
  rmSync(join(PACT_DIRECTORY, `${consumer}-${provider}.json`), { force: true });
  return new MessageConsumerPact({ consumer, provider, dir: PACT_DIRECTORY, pactfileWriteMode: 'update', logLevel: 'error' });
}

/** A CloudEvents envelope as a consumer expects it: fixed type and version, typed attributes, `data` as given. */
export function cloudEventLike(source: string, type: string, dataversion: number, data: Record<string, unknown>) {
  return {
    specversion: '1.0',
    id: uuid('9f1c3e52-8c1b-4bd9-9a57-5a2b1f0c7d11'),
    source,
    type,
    time: match.timestamp('2026-11-21T06:28:55.688Z'),
    datacontenttype: 'application/json',
    dataschema: like(`urn:onboarding:schema:${type}:v${dataversion}`),
    dataversion,
    subject: uuid('65028c56-0807-4e6a-980c-62454c3758a7'),
    correlationid: like('c0ffee00-0000-4000-8000-000000000001'),
    data,
  };
}

/**
 * AMQP metadata every consumer relies on: the routing key its queue is bound to, the message `type`
 * property, and the CloudEvents content type (named `amqpContentType` because Pact reserves `contentType`
 * for the body encoding, which is plain JSON here).
 */
export function eventMetadata(routingKey: string): Record<string, string> {
  const type = routingKey.replace(/\.v\d+$/, '');
  return { routingKey, type, amqpContentType: 'application/cloudevents+json' };
}

/** A Pact message handler that fails when the consumer's own check (`accept`) throws for the message. */
export function consumedBy(accept: (body: string) => void) {
  return synchronousBodyHandler((body: unknown) => accept(JSON.stringify(body)));
}

/** What a pact needs of an event contract (structurally, so the toolbox does not depend on the contracts package). */
export interface PactEvent {
  readonly type: string;
  readonly version: number;
  readonly routingKey: string;
}

/**
 * A consumer's message pact with one provider. Each `receives` states one event the consumer needs — the
 * provider state, the contract it arrives as, the `data` it reads — as a CloudEvents envelope with the AMQP
 * metadata every consumer relies on, and checks that the consumer's own `accept` takes it.
 */
export function consumerPact(consumer: string, provider: string, accept: (body: string) => void) {
  const pact = messagePact(consumer, provider);
  const handler = consumedBy(accept);
  return {
    receives: (state: string, contract: PactEvent, data: Record<string, unknown>) =>
      pact
        .given(state)
        .expectsToReceive(contract.routingKey)
        .withContent(cloudEventLike(provider, contract.type, contract.version, data))
        .withMetadata(eventMetadata(contract.routingKey))
        .verify(handler),
  };
}
