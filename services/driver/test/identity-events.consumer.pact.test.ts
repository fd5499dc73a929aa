import {
  IdentityAccountCreatedV1,
  IdentityAccountCreationFailedV1,
  IdentityAccountDeletedV1,
  IdentityAccountUpdatedV1,
  IdentityDriverDataErasedV1,
} from '@onboarding/contracts';
import { decodeMessage } from '@onboarding/messaging';
import { consumerPact, match } from '@onboarding/test-infra';
import { ServiceMetrics } from '@onboarding/service-kit';
import { onAccountCreated } from '../src/drivers/on-account-created';
import { SagaMetrics } from '../src/drivers/saga-metrics';
import { onAccountCreationFailed } from '../src/drivers/on-account-creation-failed';
import { onAccountDeleted } from '../src/drivers/on-account-deleted';
import { onAccountUpdated } from '../src/drivers/on-account-updated';
import { onIdentityDriverDataErased } from '../src/erasure/on-driver-data-erased';

/** The messages the driver service needs from identity: what moves the saga on and what goes into the history. */
const metrics = new SagaMetrics(new ServiceMetrics('driver').registry);
const handlers = [onAccountCreated(metrics), onAccountCreationFailed(metrics), onAccountUpdated, onAccountDeleted, onIdentityDriverDataErased];
const pact = consumerPact('driver', 'identity', (body) => {
  const decoded = decodeMessage(
    body,
    handlers.map((handler) => handler.contract),
  );
  if (!decoded.ok) throw new Error(`driver would park it: ${decoded.reason}: ${decoded.error}`);
});
const driverId = match.uuid('65028c56-0807-4e6a-980c-62454c3758a7');
const objectId = match.like('b342939b-0f1d-4ea8-b7ec-8167c77224e1');

describe('driver consumes identity events (Pact)', () => {
  it(IdentityAccountCreatedV1.routingKey, () =>
    pact.receives('the directory account of a registered driver was created', IdentityAccountCreatedV1, {
      driverId,
      objectId,
      provider: match.oneOf(['local', 'graph'], 'graph'),
      createdAt: match.timestamp('2026-11-21T06:28:56.000Z'),
    }),
  );

  it(IdentityAccountCreationFailedV1.routingKey, () =>
    pact.receives('the directory refused the account of a registered driver', IdentityAccountCreationFailedV1, {
      driverId,
      code: match.like('account-exists'),
      reason: match.like('Another object with the same value for property identities already exists.'),
      failedAt: match.timestamp('2026-11-21T06:28:56.000Z'),
    }),
  );

  it(IdentityAccountUpdatedV1.routingKey, () =>
    pact.receives('the directory account of an updated driver was updated', IdentityAccountUpdatedV1, {
      driverId,
      objectId,
      driverVersion: match.integer(3),
      updatedAt: match.timestamp('2026-11-21T06:30:01.000Z'),
    }),
  );

  it(IdentityAccountDeletedV1.routingKey, () =>
    pact.receives('the directory account of a deleted driver was deleted', IdentityAccountDeletedV1, {
      driverId,
      objectId,
      reason: match.oneOf(['driver-deleted', 'activation-rejected'], 'driver-deleted'),
      deletedAt: match.timestamp('2026-11-21T06:31:01.000Z'),
    }),
  );

  it(IdentityDriverDataErasedV1.routingKey, () =>
    pact.receives('identity erased what it kept about an erased driver', IdentityDriverDataErasedV1, {
      driverId,
      erasedAt: match.timestamp('2026-11-21T07:00:01.000Z'),
      removedMessages: match.integer(0),
    }),
  );
});
