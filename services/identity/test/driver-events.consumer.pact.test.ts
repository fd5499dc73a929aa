import {
  DriverActivationRejectedV1,
  DriverDeletedV1,
  DriverErasedV1,
  DriverRegisteredV1,
  DriverRegisteredV2,
  DriverUpdatedV1,
  upcastDriverRegisteredV1,
  type CloudEvent,
  type DriverRegisteredV1 as RegisteredV1,
} from '@onboarding/contracts';
import { decodeMessage } from '@onboarding/messaging';
import { consumerPact, match } from '@onboarding/test-infra';

/** The messages identity needs from the driver service, with the fields its handlers read. */
const IDENTITY_READS = [DriverRegisteredV1, DriverRegisteredV2, DriverUpdatedV1, DriverDeletedV1, DriverActivationRejectedV1, DriverErasedV1];

/** What every delivery goes through before a handler: envelope, contract and schema; v1 is then upcast. */
const pact = consumerPact('identity', 'driver', (body) => {
  const decoded = decodeMessage(body, IDENTITY_READS);
  if (!decoded.ok) throw new Error(`identity would park it: ${decoded.reason}: ${decoded.error}`);
  if (decoded.contract === DriverRegisteredV1) upcastDriverRegisteredV1(decoded.envelope as CloudEvent<RegisteredV1>);
});

const driverId = match.uuid('65028c56-0807-4e6a-980c-62454c3758a7');
const contact = {
  driverId,
  firstName: match.like('Ada'),
  lastName: match.like('Lovelace'),
  email: match.email('ada@example.com'),
  phone: match.phone('+44 20 7946 0000'),
};

describe('identity consumes driver events (Pact)', () => {
  it('driver.registered.v2', () =>
    pact.receives('a driver registered with a preferred language', DriverRegisteredV2, {
      ...contact,
      preferredLanguage: match.oneOf(['en', 'de', 'fr', 'es'], 'de'),
      registeredAt: match.timestamp('2026-11-21T06:28:55.688Z'),
      version: match.integer(1),
    }));

  it('driver.registered.v1 (upcast to v2)', () =>
    pact.receives('a driver registered', DriverRegisteredV1, {
      ...contact,
      registeredAt: match.timestamp('2026-11-21T06:28:55.688Z'),
      version: match.integer(1),
    }));

  it('driver.updated.v1', () =>
    pact.receives('an active driver changed the first name', DriverUpdatedV1, {
      ...contact,
      changed: match.like(['firstName']),
      updatedAt: match.timestamp('2026-11-21T06:30:00.000Z'),
      version: match.integer(3),
    }));

  it('driver.deleted.v1', () =>
    pact.receives('an active driver was deleted', DriverDeletedV1, {
      driverId,
      deletedAt: match.timestamp('2026-11-21T06:31:00.000Z'),
      version: match.integer(3),
    }));

  it('driver.activation-rejected.v1', () =>
    pact.receives('an account arrived for a driver deleted while pending', DriverActivationRejectedV1, {
      driverId,
      objectId: match.like('b342939b-0f1d-4ea8-b7ec-8167c77224e1'),
      status: match.oneOf(['FAILED', 'DELETED'], 'DELETED'),
      reason: match.like('driver was deleted before the account existed'),
      rejectedAt: match.timestamp('2026-11-21T06:32:00.000Z'),
      version: match.integer(2),
    }));

  it(DriverErasedV1.routingKey, () =>
    pact.receives('an admin erased a driver', DriverErasedV1, { driverId, erasedAt: match.timestamp('2026-11-21T07:00:00.000Z') }),
  );
});
