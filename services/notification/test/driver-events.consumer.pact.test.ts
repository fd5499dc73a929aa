import { DriverActivatedV1, DriverRegistrationFailedV1 } from '@onboarding/contracts';
import { decodeMessage } from '@onboarding/messaging';
import { cloudEventLike, consumedBy, eventMetadata, match, messagePact } from '@onboarding/test-infra';
import { onDriverActivated } from '../src/notifications/on-driver-activated';
import { onDriverRegistrationFailed } from '../src/notifications/on-driver-registration-failed';

/** Notification needs who was activated, and who failed and why. */
const pact = messagePact('notification', 'driver');
const accept = consumedBy((body) => {
  const decoded = decodeMessage(
    body,
    [onDriverActivated, onDriverRegistrationFailed].map((handler) => handler.contract),
  );
  if (!decoded.ok) throw new Error(`notification would park it: ${decoded.reason}: ${decoded.error}`);
});
const driverId = match.uuid('65028c56-0807-4e6a-980c-62454c3758a7');

describe('notification consumes driver events (Pact)', () => {
  it(DriverActivatedV1.routingKey, () =>
    pact
      .given('a registered driver was activated')
      .expectsToReceive(DriverActivatedV1.routingKey)
      .withContent(
        cloudEventLike('driver', 'driver.activated', 1, {
          driverId,
          b2cObjectId: match.like('b342939b-0f1d-4ea8-b7ec-8167c77224e1'),
          firstName: match.like('Ada'),
          lastName: match.like('Lovelace'),
          email: match.email('ada@example.com'),
          phone: match.phone('+44 20 7946 0000'),
          activatedAt: match.timestamp('2026-11-21T06:28:56.000Z'),
          version: match.integer(2),
        }),
      )
      .withMetadata(eventMetadata(DriverActivatedV1.routingKey))
      .verify(accept),
  );

  it(DriverRegistrationFailedV1.routingKey, () =>
    pact
      .given('the registration of a driver failed')
      .expectsToReceive(DriverRegistrationFailedV1.routingKey)
      .withContent(
        cloudEventLike('driver', 'driver.registration-failed', 1, {
          driverId,
          firstName: match.like('Ada'),
          lastName: match.like('Lovelace'),
          reason: match.like('timeout'),
          failedAt: match.timestamp('2026-11-21T06:33:00.000Z'),
          version: match.integer(2),
        }),
      )
      .withMetadata(eventMetadata(DriverRegistrationFailedV1.routingKey))
      .verify(accept),
  );
});
