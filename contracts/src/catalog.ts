import type { EventContract } from './envelope';
import { DriverActivatedV1 } from './driver/activated.v1';
import { DriverRegisteredV1 } from './driver/registered.v1';
import { DriverRegisteredV2 } from './driver/registered.v2';
import { DriverRegistrationFailedV1 } from './driver/registration-failed.v1';
import { IdentityAccountCreatedV1 } from './identity/account-created.v1';
import { IdentityAccountCreationFailedV1 } from './identity/account-creation-failed.v1';
import { DriverActivationRejectedV1 } from './driver/activation-rejected.v1';
import { DriverDeletedV1 } from './driver/deleted.v1';
import { DriverUpdatedV1 } from './driver/updated.v1';
import { IdentityAccountDeletedV1 } from './identity/account-deleted.v1';
import { IdentityAccountUpdatedV1 } from './identity/account-updated.v1';
import { DriverErasedV1 } from './erasure/driver-erased.v1';
import { IdentityDriverDataErasedV1, MailerDriverDataErasedV1, NotificationDriverDataErasedV1 } from './erasure/driver-data-erased.v1';
import { MailWelcomeSentV1 } from './mail/welcome-sent.v1';
import { NotificationAdminsNotifiedV1 } from './notification/admins-notified.v1';

/** Every published event contract; the compatibility check and AsyncAPI document are built from this list. */
export const allEvents: readonly EventContract[] = [
  DriverRegisteredV1,
  DriverRegisteredV2,
  DriverActivatedV1,
  DriverRegistrationFailedV1,
  IdentityAccountCreatedV1,
  IdentityAccountCreationFailedV1,
  DriverUpdatedV1,
  DriverDeletedV1,
  DriverActivationRejectedV1,
  IdentityAccountUpdatedV1,
  IdentityAccountDeletedV1,
  DriverErasedV1,
  IdentityDriverDataErasedV1,
  MailerDriverDataErasedV1,
  NotificationDriverDataErasedV1,
  MailWelcomeSentV1,
  NotificationAdminsNotifiedV1,
];

/**
 * Who publishes each event and who consumes it: the platform's message flow. It documents the flow (AsyncAPI)
 * and it is enforced: consumers accept an event only from its producer's broker user (the AMQP `user-id` the
 * broker verified), and the broker permissions let a service publish only the keys it produces and bind its
 * queue only to the keys it consumes. `formerConsumers` had a binding in an earlier version and may still
 * remove it.
 */
export interface EventFlow {
  readonly producer: string;
  readonly consumers: readonly string[];
  readonly formerConsumers?: readonly string[];
}

export const eventFlow: Readonly<Record<string, EventFlow>> = {
  'driver.registered.v1': { producer: 'driver', consumers: ['identity'], formerConsumers: ['mailer'] },
  'driver.registered.v2': { producer: 'driver', consumers: ['identity'], formerConsumers: ['mailer'] },
  'driver.activated.v1': { producer: 'driver', consumers: ['mailer', 'notification'] },
  'driver.registration-failed.v1': { producer: 'driver', consumers: ['notification'] },
  'driver.updated.v1': { producer: 'driver', consumers: ['identity'] },
  'driver.deleted.v1': { producer: 'driver', consumers: ['identity'] },
  'driver.activation-rejected.v1': { producer: 'driver', consumers: ['identity'] },
  'identity.account.created.v1': { producer: 'identity', consumers: ['driver'] },
  'identity.account.creation-failed.v1': { producer: 'identity', consumers: ['driver'] },
  'identity.account.updated.v1': { producer: 'identity', consumers: ['driver'] },
  'identity.account.deleted.v1': { producer: 'identity', consumers: ['driver'] },
  // The driver service consumes its own erasure event too: it clears the unroutable queue and its own retry and
  // parking queues the same way the other services clear theirs, and records that on the audit record.
  'driver.erased.v1': { producer: 'driver', consumers: ['driver', 'identity', 'mailer', 'notification'] },
  'identity.driver-data.erased.v1': { producer: 'identity', consumers: ['driver'] },
  'mailer.driver-data.erased.v1': { producer: 'mailer', consumers: ['driver'] },
  'notification.driver-data.erased.v1': { producer: 'notification', consumers: ['driver'] },
  // What the mailer and the notification service did, so a registration's timeline shows every step. No service
  // acts on them; the auditors (below) keep them.
  'mail.welcome-sent.v1': { producer: 'mailer', consumers: [] },
  'notification.admins-notified.v1': { producer: 'notification', consumers: [] },
};

/**
 * Services that keep a read-only copy of every event: they bind every routing key of `eventFlow` to a queue of
 * their own and publish nothing. They are not consumers in the saga's sense: no producer waits for them (the
 * erasure saga waits for the consumers of `driver.erased`), and an auditor that is down holds up nothing.
 * The broker set-up gives them bind rights on every key and publish rights on none.
 */
export const EVENT_AUDITORS: readonly string[] = ['operations'];

/** Whether `service` binds its queue to `routingKey`: a consumer of it, a former consumer removing its binding, or an auditor. */
export function bindsRoutingKey(service: string, routingKey: string, flow: Readonly<Record<string, EventFlow>> = eventFlow): boolean {
  const entry = flow[routingKey];
  if (!entry) return false;
  return entry.consumers.includes(service) || (entry.formerConsumers ?? []).includes(service) || EVENT_AUDITORS.includes(service);
}
