import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MessageProviderPact, providerWithMetadata } from '@pact-foundation/pact';
import { createEnvelope } from '@onboarding/contracts';
import { CLOUDEVENTS_CONTENT_TYPE, type OutgoingEvent } from '@onboarding/messaging';
import { PACT_DIRECTORY } from '@onboarding/test-infra';
import { Driver } from '../src/drivers/driver';
import { driverEvents } from '../src/drivers/outgoing-events';
import { DriverErasure } from '../src/erasure/driver-erasure';
import { erasureEvents } from '../src/erasure/outgoing-events';
import { SERVICE_SOURCE } from '../src/drivers/register-driver';

/**
 * The driver service verifies, in its own suite, that the events its real code builds (the same
 * `driverEvents` the use cases put in the outbox, in the envelope and with the AMQP properties the relay
 * publishes them with) satisfy every consumer's pact.
 */
function registered(): Driver {
  return Driver.register(
    { firstName: 'Ada', lastName: 'Lovelace', email: 'Ada@Example.com', phone: '+44 20 7946 0000', preferredLanguage: 'de' },
    'correlation-1',
  );
}

function active(): Driver {
  const driver = registered();
  driver.activate('b342939b-0f1d-4ea8-b7ec-8167c77224e1');
  return driver;
}

/** The message as the relay publishes it: the outbox envelope, its routing key, `type` and content type. */
function asPublished(driver: Driver, event: OutgoingEvent) {
  const envelope = createEnvelope(event.contract, event.data, { source: SERVICE_SOURCE, subject: driver.id, correlationId: 'correlation-1' });
  return providerWithMetadata(() => envelope, {
    routingKey: event.contract.routingKey,
    type: envelope.type,
    amqpContentType: CLOUDEVENTS_CONTENT_TYPE,
  });
}

function scenario(make: () => { driver: Driver; event: OutgoingEvent }) {
  const { driver, event } = make();
  return asPublished(driver, event);
}

const messageProviders = {
  'driver.registered.v2': scenario(() => {
    const driver = registered();
    return { driver, event: driverEvents.registered(driver, [2])[0]! };
  }),
  'driver.registered.v1': scenario(() => {
    const driver = registered();
    return { driver, event: driverEvents.registered(driver, [1])[0]! };
  }),
  'driver.activated.v1': scenario(() => {
    const driver = active();
    return { driver, event: driverEvents.activated(driver) };
  }),
  'driver.registration-failed.v1': scenario(() => {
    const driver = registered();
    driver.expire();
    return { driver, event: driverEvents.registrationFailed(driver) };
  }),
  'driver.updated.v1': scenario(() => {
    const driver = active();
    const changed = driver.update({ firstName: 'Augusta' }, { roles: ['dispatcher'] });
    return { driver, event: driverEvents.updated(driver, changed) };
  }),
  'driver.deleted.v1': scenario(() => {
    const driver = active();
    driver.delete();
    return { driver, event: driverEvents.deleted(driver) };
  }),
  'driver.erased.v1': scenario(() => {
    const driver = active();
    const erasure = DriverErasure.request(driver, { roles: ['admin'], subject: 'admin' }, ['identity', 'mailer', 'notification']);
    return { driver, event: erasureEvents.erased(erasure) };
  }),
  'driver.activation-rejected.v1': scenario(() => {
    const driver = registered();
    driver.delete();
    return { driver, event: driverEvents.activationRejected(driver, 'b342939b-0f1d-4ea8-b7ec-8167c77224e1', 'driver was deleted') };
  }),
};

const pactsNamingDriver = readdirSync(PACT_DIRECTORY)
  .filter((file) => file.endsWith('-driver.json'))
  .map((file) => join(PACT_DIRECTORY, file));

describe('driver as a provider of events (Pact verification)', () => {
  it('has pacts from its consumers to verify', () => {
    expect(pactsNamingDriver.map((file) => file.split('/').pop()).sort()).toEqual([
      'identity-driver.json',
      'mailer-driver.json',
      'notification-driver.json',
    ]);
  });

  it('fails verification when the producer stops sending a field a consumer needs', async () => {
    const driver = active();
    const withoutEmail = createEnvelope(driverEvents.activated(driver).contract, driverEvents.activated(driver).data, {
      source: SERVICE_SOURCE,
      subject: driver.id,
      correlationId: 'correlation-1',
    });
    delete (withoutEmail.data as Record<string, unknown>).email;
    const broken = {
      ...messageProviders,
      'driver.activated.v1': providerWithMetadata(() => withoutEmail, {
        routingKey: 'driver.activated.v1',
        type: 'driver.activated',
        amqpContentType: CLOUDEVENTS_CONTENT_TYPE,
      }),
    };
    await expect(
      new MessageProviderPact({
        provider: 'driver',
        pactUrls: [join(PACT_DIRECTORY, 'mailer-driver.json')],
        messageProviders: broken,
        logLevel: 'error',
      }).verify(),
    ).rejects.toBeDefined();
  }, 60_000);

  it(
    'produces every message its consumers need',
    () => new MessageProviderPact({ provider: 'driver', pactUrls: pactsNamingDriver, messageProviders, logLevel: 'error' }).verify(),
    60_000,
  );
});
