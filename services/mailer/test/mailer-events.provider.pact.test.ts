import { join } from 'node:path';
import { MessageProviderPact, providerWithMetadata } from '@pact-foundation/pact';
import { MailerDriverDataErasedV1, createEnvelope } from '@onboarding/contracts';
import { CLOUDEVENTS_CONTENT_TYPE, type OutgoingEvent } from '@onboarding/messaging';
import { PACT_DIRECTORY } from '@onboarding/test-infra';
import { erasureEvents } from '../src/erasure/outgoing-events';

/** The mailer service publishes one event, its erasure confirmation: it must satisfy the driver service's pact. */
function published({ contract, data }: OutgoingEvent) {
  const envelope = createEnvelope(contract, data, { source: 'mailer', subject: (data as { driverId: string }).driverId, correlationId: 'c-1' });
  return providerWithMetadata(() => envelope, { routingKey: contract.routingKey, type: envelope.type, amqpContentType: CLOUDEVENTS_CONTENT_TYPE });
}

describe('mailer as a provider of events (Pact verification)', () => {
  it(
    'produces every message the driver service needs',
    () =>
      new MessageProviderPact({
        provider: 'mailer',
        pactUrls: [join(PACT_DIRECTORY, 'driver-mailer.json')],
        messageProviders: {
          [MailerDriverDataErasedV1.routingKey]: published(erasureEvents.dataErased('65028c56-0807-4e6a-980c-62454c3758a7', 1)),
        },
        logLevel: 'error',
      }).verify(),
    60_000,
  );
});
