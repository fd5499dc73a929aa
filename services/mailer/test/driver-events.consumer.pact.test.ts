import { DEFAULT_LANGUAGE, DriverActivatedV1, DriverErasedV1, LANGUAGES } from '@onboarding/contracts';
import { decodeMessage } from '@onboarding/messaging';
import { consumerPact, match } from '@onboarding/test-infra';
import { renderWelcomeMail } from '../src/mail/welcome-mail';

/** The mailer needs the activation: who, which address, and which language the welcome mail is written in. */
const pact = consumerPact('mailer', 'driver', (body) => {
  const decoded = decodeMessage(body, [DriverActivatedV1, DriverErasedV1]);
  if (!decoded.ok) throw new Error(`mailer would park it: ${decoded.reason}: ${decoded.error}`);
  if (decoded.contract !== DriverActivatedV1) return;
  const data = decoded.envelope.data as DriverActivatedV1;
  renderWelcomeMail(data, data.preferredLanguage ?? DEFAULT_LANGUAGE);
});

describe('mailer consumes driver events (Pact)', () => {
  it(DriverActivatedV1.routingKey, () =>
    pact.receives('a registered driver was activated', DriverActivatedV1, {
      driverId: match.uuid('65028c56-0807-4e6a-980c-62454c3758a7'),
      b2cObjectId: match.like('b342939b-0f1d-4ea8-b7ec-8167c77224e1'),
      firstName: match.like('Ada'),
      lastName: match.like('Lovelace'),
      email: match.email('ada@example.com'),
      phone: match.phone('+44 20 7946 0000'),
      preferredLanguage: match.oneOf(LANGUAGES, 'de'),
      activatedAt: match.timestamp('2026-11-21T06:28:56.000Z'),
      version: match.integer(2),
    }),
  );

  it(DriverErasedV1.routingKey, () =>
    pact.receives('an admin erased a driver', DriverErasedV1, {
      driverId: match.uuid('65028c56-0807-4e6a-980c-62454c3758a7'),
      erasedAt: match.timestamp('2026-11-21T07:00:00.000Z'),
    }),
  );
});
