import { forwardedCaller } from '../src/forwarded-caller';

describe('forwardedCaller', () => {
  it('reads the subject and the known roles the gateway forwarded', () => {
    expect(forwardedCaller({ 'x-auth-subject': 'user-1', 'x-auth-role': 'dispatcher,admin' })).toEqual({
      subject: 'user-1',
      roles: ['dispatcher', 'admin'],
    });
  });

  it('grants nothing without the headers, and drops roles it does not know', () => {
    expect(forwardedCaller({})).toEqual({ subject: null, roles: [] });
    expect(forwardedCaller({ 'x-auth-subject': ' ', 'x-auth-role': 'root, Admin,,' })).toEqual({ subject: null, roles: [] });
  });
});
