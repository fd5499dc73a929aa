import { join } from 'node:path';
import { MessageProviderPact, providerWithMetadata } from '@pact-foundation/pact';
import { MailWelcomeSentV1, MailerDriverDataErasedV1, createEnvelope } from '@onboarding/contracts';
import { CLOUDEVENTS_CONTENT_TYPE, type OutgoingEvent } from '@onboarding/messaging';
import { PACT_DIRECTORY } from '@onboarding/test-infra';
import { erasureEvents } from '../src/erasure/outgoing-events';
import { mailEvents } from '../src/mail/outgoing-events';

/** The mailer publishes its erasure confirmation (the driver service's pact) and what it did with a mail (operations' pact). */
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

  it(
    'produces every message the operations service needs',
    () =>
      new MessageProviderPact({
        provider: 'mailer',
        pactUrls: [join(PACT_DIRECTORY, 'operations-mailer.json')],
        messageProviders: {
          [MailWelcomeSentV1.routingKey]: published(
            mailEvents.welcomeSent(
              '65028c56-0807-4e6a-980c-62454c3758a7',
              '<welcome.65028c56-0807-4e6a-980c-62454c3758a7@onboarding.local>',
              'en',
              new Date('2026-11-21T06:29:00.000Z'),
              1,
            ),
          ),
        },
        logLevel: 'error',
      }).verify(),
    60_000,
  );
});
