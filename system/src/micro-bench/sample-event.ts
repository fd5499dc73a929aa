import { randomUUID } from 'node:crypto';
import type amqplib from 'amqplib';
import type { CloudEvent, DriverRegisteredV2 as DriverRegistration } from '@onboarding/contracts';
import { CLOUDEVENTS_CONTENT_TYPE } from '@onboarding/messaging';

/** The event the micro-benchmarks move around, and how the runtime would put it on the wire. */

/** A registration as the driver service would stage it (v2, the current major version). */
export function sampleRegistration(): DriverRegistration {
  const driverId = randomUUID();
  return {
    driverId,
    firstName: 'Micro',
    lastName: 'Bench',
    email: `micro.${driverId}@example.com`,
    phone: '+44 20 7946 0000',
    preferredLanguage: 'en',
    registeredAt: new Date().toISOString(),
    version: 1,
  };
}

/** The AMQP properties the outbox relay publishes an envelope with (see OutboxRelay.publishRow). */
export function relayProperties(envelope: CloudEvent): amqplib.Options.Publish {
  return {
    persistent: true,
    messageId: envelope.id,
    type: envelope.type,
    correlationId: envelope.correlationid,
    timestamp: Math.floor(Date.now() / 1000),
    contentType: CLOUDEVENTS_CONTENT_TYPE,
    headers: {},
  };
}
