import { DriverActivatedV1, DriverErasedV1, DriverRegistrationFailedV1 } from '@onboarding/contracts';
import { decodeMessage } from '@onboarding/messaging';
import { consumerPact, match } from '@onboarding/test-infra';
import { ActiveRecipients } from '../src/notifications/active-recipients';
import { onDriverActivated } from '../src/notifications/on-driver-activated';
import { onDriverRegistrationFailed } from '../src/notifications/on-driver-registration-failed';
import { onDriverErased } from '../src/erasure/on-driver-erased';

/** Notification needs who was activated, and who failed and why. */
const pact = consumerPact('notification', 'driver', (body) => {
  const decoded = decodeMessage(
    body,
    [
      onDriverActivated(new ActiveRecipients()),
      onDriverRegistrationFailed(new ActiveRecipients()),
      onDriverErased({ amqpUrl: '', queues: [], schema: 'notification' }),
    ].map((handler) => handler.contract),
  );
  if (!decoded.ok) throw new Error(`notification would park it: ${decoded.reason}: ${decoded.error}`);
});
const driverId = match.uuid('65028c56-0807-4e6a-980c-62454c3758a7');

describe('notification consumes driver events (Pact)', () => {
  it(DriverActivatedV1.routingKey, () =>
    pact.receives('a registered driver was activated', DriverActivatedV1, {
      driverId,
      b2cObjectId: match.like('b342939b-0f1d-4ea8-b7ec-8167c77224e1'),
      firstName: match.like('Ada'),
      lastName: match.like('Lovelace'),
      email: match.email('ada@example.com'),
      phone: match.phone('+44 20 7946 0000'),
      activatedAt: match.timestamp('2026-11-21T06:28:56.000Z'),
      version: match.integer(2),
    }),
  );

  it(DriverRegistrationFailedV1.routingKey, () =>
    pact.receives('the registration of a driver failed', DriverRegistrationFailedV1, {
      driverId,
      firstName: match.like('Ada'),
      lastName: match.like('Lovelace'),
      reason: match.like('timeout'),
      failedAt: match.timestamp('2026-11-21T06:33:00.000Z'),
      version: match.integer(2),
    }),
  );

  it(DriverErasedV1.routingKey, () =>
    pact.receives('an admin erased a driver', DriverErasedV1, { driverId, erasedAt: match.timestamp('2026-11-21T07:00:00.000Z') }),
  );
});
