import type { EventContract } from './envelope';
import { DriverActivatedV1 } from './driver/activated.v1';
import { DriverRegisteredV1 } from './driver/registered.v1';
import { DriverRegistrationFailedV1 } from './driver/registration-failed.v1';
import { IdentityAccountCreatedV1 } from './identity/account-created.v1';
import { IdentityAccountCreationFailedV1 } from './identity/account-creation-failed.v1';

/** Every published event contract; the compatibility check and AsyncAPI document are built from this list. */
export const allEvents: readonly EventContract[] = [
  DriverRegisteredV1,
  DriverActivatedV1,
  DriverRegistrationFailedV1,
  IdentityAccountCreatedV1,
  IdentityAccountCreationFailedV1,
];
