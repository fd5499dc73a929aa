import { join } from 'node:path';
import { MessageProviderPact, providerWithMetadata } from '@pact-foundation/pact';
import { NotificationAdminsNotifiedV1, NotificationDriverDataErasedV1, createEnvelope } from '@onboarding/contracts';
import { CLOUDEVENTS_CONTENT_TYPE, type OutgoingEvent } from '@onboarding/messaging';
import { PACT_DIRECTORY } from '@onboarding/test-infra';
import { erasureEvents } from '../src/erasure/outgoing-events';
import { notificationEvents } from '../src/notifications/outgoing-events';

/** The notification service publishes its erasure confirmation (the driver service's pact) and what it told the admins (operations' pact). */
function published({ contract, data }: OutgoingEvent) {
  const envelope = createEnvelope(contract, data, { source: 'notification', subject: (data as { driverId: string }).driverId, correlationId: 'c-1' });
  return providerWithMetadata(() => envelope, { routingKey: contract.routingKey, type: envelope.type, amqpContentType: CLOUDEVENTS_CONTENT_TYPE });
}

describe('notification as a provider of events (Pact verification)', () => {
  it(
    'produces every message the driver service needs',
    () =>
      new MessageProviderPact({
        provider: 'notification',
        pactUrls: [join(PACT_DIRECTORY, 'driver-notification.json')],
        messageProviders: {
          [NotificationDriverDataErasedV1.routingKey]: published(erasureEvents.dataErased('65028c56-0807-4e6a-980c-62454c3758a7', 1)),
        },
        logLevel: 'error',
      }).verify(),
    60_000,
  );

  it(
    'produces every message the operations service needs',
    () =>
      new MessageProviderPact({
        provider: 'notification',
        pactUrls: [join(PACT_DIRECTORY, 'operations-notification.json')],
        messageProviders: {
          [NotificationAdminsNotifiedV1.routingKey]: published(
            notificationEvents.adminsNotified('65028c56-0807-4e6a-980c-62454c3758a7', 'driver.activated', ['b342939b-0f1d-4ea8-b7ec-8167c77224e1']),
          ),
        },
        logLevel: 'error',
      }).verify(),
    60_000,
  );
});
