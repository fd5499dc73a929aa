import { randomUUID } from 'node:crypto';
import { CloudEvent, DriverActivatedV1, DriverRegisteredV1, RegisterDriverBody, allEvents, createEnvelope, validate } from '../src';

const registered = {
  driverId: randomUUID(),
  firstName: 'Ada',
  lastName: 'Lovelace',
  email: 'ada@example.com',
  phone: '+44 20 7946 0000',
  registeredAt: new Date().toISOString(),
  version: 1,
};

describe('event contracts', () => {
  it('routes each event by type and major version', () => {
    expect(DriverRegisteredV1.routingKey).toBe('driver.registered.v1');
    expect(new Set(allEvents.map((event) => event.routingKey)).size).toBe(allEvents.length);
  });

  it('wraps data in a CloudEvents 1.0 envelope that validates', () => {
    const envelope = createEnvelope(DriverRegisteredV1, registered, {
      source: 'driver',
      subject: registered.driverId,
      correlationId: 'corr-1',
      causationId: 'cause-1',
    });
    expect(envelope).toMatchObject({
      specversion: '1.0',
      type: 'driver.registered',
      dataversion: 1,
      datacontenttype: 'application/json',
      subject: registered.driverId,
      correlationid: 'corr-1',
      causationid: 'cause-1',
    });
    expect(validate(CloudEvent, envelope).ok).toBe(true);
    expect(validate(DriverRegisteredV1.schema, envelope.data).ok).toBe(true);
  });

  it('accepts additive fields (same major version) and rejects a missing required one, naming it', () => {
    expect(validate(DriverRegisteredV1.schema, { ...registered, preferredLanguage: 'de' }).ok).toBe(true);
    const { email: _email, ...withoutEmail } = registered;
    const result = validate(DriverRegisteredV1.schema, withoutEmail);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((issue) => issue.path)).toContain('/email');
  });

  it('carries the preferred language in driver.activated v1 as an optional field, restricted to the known languages', () => {
    const { registeredAt: _registeredAt, ...person } = registered;
    const activated = { ...person, b2cObjectId: randomUUID(), activatedAt: new Date().toISOString(), version: 2 };
    expect(validate(DriverActivatedV1.schema, activated).ok).toBe(true); // as a producer from before the field sends it
    expect(validate(DriverActivatedV1.schema, { ...activated, preferredLanguage: 'fr' }).ok).toBe(true);
    const unknown = validate(DriverActivatedV1.schema, { ...activated, preferredLanguage: 'xx' });
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.issues.map((issue) => issue.path)).toContain('/preferredLanguage');
  });

  it('validates HTTP bodies with the same field rules', () => {
    const body = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0000' };
    expect(validate(RegisterDriverBody, body).ok).toBe(true);
    for (const bad of [
      { ...body, email: 'ada@' },
      { ...body, phone: 'call me' },
      { ...body, phone: ' --) -)' }, // separators only: found by the property-based test
      { ...body, firstName: '   ' },
      { ...body, unexpected: 1 },
    ]) {
      expect(validate(RegisterDriverBody, bad).ok).toBe(false);
    }
  });
});
