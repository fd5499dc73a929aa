/**
 * The broker objects every service shares. They belong to no service: the broker set-up (packages/broker-setup)
 * declares them, and a service only checks they exist, so no service needs configure rights on them.
 */

/** The one durable topic exchange every domain event is published to. */
export const DOMAIN_EXCHANGE = 'onboarding.events';
/** Events no queue is bound for land here instead of vanishing (the domain exchange's alternate exchange). */
export const UNROUTABLE_EXCHANGE = 'onboarding.unroutable';
export const UNROUTABLE_QUEUE = 'onboarding.unroutable';
