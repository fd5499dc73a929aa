import { DriverActivatedV1, DriverRegisteredV1, DriverRegisteredV2 } from '@onboarding/contracts';
import { decodeMessage } from '@onboarding/messaging';
import { cloudEventLike, consumedBy, eventMetadata, match, messagePact } from '@onboarding/test-infra';
import { renderWelcomeMail } from '../src/mail/welcome-mail';

/** The mailer needs the activation (who, which address) and the registration (which language). */
const pact = messagePact('mailer', 'driver');
const accept = consumedBy((body) => {
  const decoded = decodeMessage(body, [DriverActivatedV1, DriverRegisteredV1, DriverRegisteredV2]);
  if (!decoded.ok) throw new Error(`mailer would park it: ${decoded.reason}: ${decoded.error}`);
  if (decoded.contract === DriverActivatedV1) renderWelcomeMail(decoded.envelope.data as DriverActivatedV1, 'en');
});
const person = {
  driverId: match.uuid('65028c56-0807-4e6a-980c-62454c3758a7'),
  firstName: match.like('Ada'),
  lastName: match.like('Lovelace'),
  email: match.email('ada@example.com'),
  phone: match.phone('+44 20 7946 0000'),
};

describe('mailer consumes driver events (Pact)', () => {
  it(DriverActivatedV1.routingKey, () =>
    pact
      .given('a registered driver was activated')
      .expectsToReceive(DriverActivatedV1.routingKey)
      .withContent(
        cloudEventLike('driver', 'driver.activated', 1, {
          ...person,
          b2cObjectId: match.like('b342939b-0f1d-4ea8-b7ec-8167c77224e1'),
          activatedAt: match.timestamp('2026-11-21T06:28:56.000Z'),
          version: match.integer(2),
        }),
      )
      .withMetadata(eventMetadata(DriverActivatedV1.routingKey))
      .verify(accept));

  it(DriverRegisteredV2.routingKey, () =>
    pact
      .given('a driver registered with a preferred language')
      .expectsToReceive(DriverRegisteredV2.routingKey)
      .withContent(
        cloudEventLike('driver', 'driver.registered', 2, {
          ...person,
          preferredLanguage: match.oneOf(['en', 'de', 'fr', 'es'], 'de'),
          registeredAt: match.timestamp('2026-11-21T06:28:55.688Z'),
          version: match.integer(1),
        }),
      )
      .withMetadata(eventMetadata(DriverRegisteredV2.routingKey))
      .verify(accept));

  it(DriverRegisteredV1.routingKey, () =>
    pact
      .given('a driver registered')
      .expectsToReceive(DriverRegisteredV1.routingKey)
      .withContent(
        cloudEventLike('driver', 'driver.registered', 1, {
          ...person,
          registeredAt: match.timestamp('2026-11-21T06:28:55.688Z'),
          version: match.integer(1),
        }),
      )
      .withMetadata(eventMetadata(DriverRegisteredV1.routingKey))
      .verify(accept));
});
