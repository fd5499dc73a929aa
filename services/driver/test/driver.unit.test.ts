import { Driver, DriverChangeForbidden, DriverRuleViolation } from '../src/drivers/driver';

const input = { firstName: ' Ada ', lastName: 'Lovelace', email: ' Ada@Example.COM ', phone: '+44 20 7946 0000' };

describe('Driver rules', () => {
  it('registers as PENDING at version 1 with a normalised address and trimmed names', () => {
    const driver = Driver.register(input);
    expect(driver.status).toBe('PENDING');
    expect(driver.version).toBe(1);
    expect(driver.email).toBe('ada@example.com');
    expect(driver.firstName).toBe('Ada');
  });

  it('activates once, recording the account and moving the version on', () => {
    const driver = Driver.register(input);
    driver.activate('object-1');
    expect(driver.status).toBe('ACTIVE');
    expect(driver.b2cObjectId).toBe('object-1');
    expect(driver.version).toBe(2);
    driver.activate('object-1'); // same account again: nothing changes
    expect(driver.version).toBe(2);
  });

  it('refuses to activate a driver that is not PENDING', () => {
    const driver = Driver.register(input);
    driver.fail('account-exists');
    expect(() => driver.activate('object-1')).toThrow(DriverRuleViolation);
    expect(driver.status).toBe('FAILED');
  });

  it('fails a PENDING driver with the reason, and only a PENDING one', () => {
    const driver = Driver.register(input);
    driver.fail('timeout');
    expect(driver.status).toBe('FAILED');
    expect(driver.failureReason).toBe('timeout');
    expect(driver.version).toBe(2);
    expect(() => driver.fail('again')).toThrow(DriverRuleViolation);
  });

  it('shows optional fields only when they are set', () => {
    const view = Driver.register(input).toView();
    expect(view).not.toHaveProperty('b2cObjectId');
    expect(view).not.toHaveProperty('failureReason');
    expect(view.status).toBe('PENDING');
  });

  it('lets only an admin change the email address; a dispatcher may change the rest and resend the same address', () => {
    const driver = Driver.register(input);
    driver.activate('object-1');
    const dispatcher = { roles: ['dispatcher'] as const };
    expect(() => driver.update({ email: 'someone.else@example.com', firstName: 'Augusta' }, dispatcher)).toThrow(DriverChangeForbidden);
    expect(driver).toMatchObject({ email: 'ada@example.com', firstName: 'Ada', version: 2 });
    expect(() => driver.update({ email: 'x@example.com' }, { roles: [] })).toThrow(DriverChangeForbidden);
    expect(driver.update({ email: ' ADA@example.com', firstName: 'Augusta' }, dispatcher)).toEqual(['firstName']);
    expect(driver.update({ email: 'new.address@example.com' }, { roles: ['admin'] })).toEqual(['email']);
    expect(driver).toMatchObject({ email: 'new.address@example.com', version: 4 });
  });
});
