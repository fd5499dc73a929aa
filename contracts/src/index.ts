import './formats';

export { registerFormats } from './formats';
export * from './fields';
export * from './envelope';
export * from './validation';
export { DriverRegisteredV1 } from './driver/registered.v1';
export { DriverActivatedV1 } from './driver/activated.v1';
export { DriverRegistrationFailedV1 } from './driver/registration-failed.v1';
export { IdentityAccountCreatedV1 } from './identity/account-created.v1';
export { IdentityAccountCreationFailedV1 } from './identity/account-creation-failed.v1';
export * from './http/problem';
export * from './http/pagination';
export * from './http/drivers';
export * from './http/identity';
export * from './http/notifications';
export { allEvents } from './catalog';
