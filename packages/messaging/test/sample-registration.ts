import type { DriverRegisteredV1 } from '@onboarding/contracts';

/** The `driver.registered.v1` data these tests write and deliver: what the messaging runtime carries, not reads. */
export function sampleRegistration(driverId: string): DriverRegisteredV1 {
  return {
    driverId,
    firstName: 'Ada',
    lastName: 'Lovelace',
    email: `${driverId}@example.com`,
    phone: '+44 20 7946 0000',
    registeredAt: new Date().toISOString(),
    version: 1,
  };
}
