import './formats';

export { registerFormats } from './formats';
export * from './fields';
export * from './envelope';
export * from './validation';
export { DriverRegisteredV1 } from './driver/registered.v1';
export { DriverRegisteredV2, upcastDriverRegisteredV1 } from './driver/registered.v2';
export { DriverActivatedV1 } from './driver/activated.v1';
export { DriverRegistrationFailedV1 } from './driver/registration-failed.v1';
export { IdentityAccountCreatedV1 } from './identity/account-created.v1';
export { IdentityAccountCreationFailedV1 } from './identity/account-creation-failed.v1';
export { DriverUpdatedV1 } from './driver/updated.v1';
export { DriverDeletedV1 } from './driver/deleted.v1';
export { DriverActivationRejectedV1 } from './driver/activation-rejected.v1';
export { IdentityAccountDeletedV1 } from './identity/account-deleted.v1';
export { IdentityAccountUpdatedV1 } from './identity/account-updated.v1';
export { DriverErasedV1 } from './erasure/driver-erased.v1';
export {
  IdentityDriverDataErasedV1,
  MailerDriverDataErasedV1,
  NotificationDriverDataErasedV1,
  ERASURE_EVENT_TYPES,
  type DriverDataErasedV1,
} from './erasure/driver-data-erased.v1';
export * from './http/problem';
export * from './http/pagination';
export * from './http/drivers';
export * from './http/identity';
export * from './http/notifications';
export * from './http/erasure';
export { MailWelcomeSentV1 } from './mail/welcome-sent.v1';
export { NotificationAdminsNotifiedV1 } from './notification/admins-notified.v1';
export { allEvents, eventFlow, EVENT_AUDITORS, bindsRoutingKey, type EventFlow } from './catalog';
export * from './broker';
export * from './services';
export { buildAsyncApiDocument } from './asyncapi';
export * from './compatibility';
export * from './released-snapshots';
export * from './http/operations';
export * from './http/parked';
