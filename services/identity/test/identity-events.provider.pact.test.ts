import { join } from 'node:path';
import { MessageProviderPact, providerWithMetadata } from '@pact-foundation/pact';
import {
  IdentityAccountCreatedV1,
  IdentityAccountCreationFailedV1,
  IdentityAccountDeletedV1,
  IdentityAccountUpdatedV1,
  IdentityDriverDataErasedV1,
  createEnvelope,
} from '@onboarding/contracts';
import { CLOUDEVENTS_CONTENT_TYPE, type OutgoingEvent } from '@onboarding/messaging';
import { PACT_DIRECTORY } from '@onboarding/test-infra';
import { identityEvents } from '../src/accounts/outgoing-events';
import { erasureEvents } from '../src/erasure/outgoing-events';

/** Identity verifies that the events its handlers stage satisfy the driver service's pact. */
function published({ contract, data }: OutgoingEvent) {
  const envelope = createEnvelope(contract, data, { source: 'identity', subject: (data as { driverId: string }).driverId, correlationId: 'c-1' });
  return providerWithMetadata(() => envelope, {
    routingKey: contract.routingKey,
    type: envelope.type,
    amqpContentType: CLOUDEVENTS_CONTENT_TYPE,
  });
}

const driverId = '65028c56-0807-4e6a-980c-62454c3758a7';
const objectId = 'b342939b-0f1d-4ea8-b7ec-8167c77224e1';

const messageProviders = {
  [IdentityAccountCreatedV1.routingKey]: published(identityEvents.created(driverId, objectId, 'graph')),
  [IdentityAccountCreationFailedV1.routingKey]: published(
    identityEvents.creationFailed(driverId, 'account-exists', 'Another object with the same value already exists.'),
  ),
  [IdentityAccountUpdatedV1.routingKey]: published(identityEvents.updated(driverId, objectId, 3)),
  [IdentityAccountDeletedV1.routingKey]: published(identityEvents.deleted(driverId, objectId, 'driver-deleted')),
  [IdentityDriverDataErasedV1.routingKey]: published(erasureEvents.dataErased(driverId, 0)),
};

describe('identity as a provider of events (Pact verification)', () => {
  it(
    'produces every message the driver service needs',
    () =>
      new MessageProviderPact({
        provider: 'identity',
        pactUrls: [join(PACT_DIRECTORY, 'driver-identity.json')],
        messageProviders,
        logLevel: 'error',
      }).verify(),
    60_000,
  );
});
