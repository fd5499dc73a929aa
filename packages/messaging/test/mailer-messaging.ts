import { randomUUID } from 'node:crypto';
import { DriverActivatedV1, createEnvelope } from '@onboarding/contracts';

/** A `driver.activated` envelope as the driver service publishes it, for a messaging component run as the mailer. */
export function sampleActivation() {
  const driverId = randomUUID();
  return createEnvelope(
    DriverActivatedV1,
    {
      driverId,
      b2cObjectId: randomUUID(),
      firstName: 'Ada',
      lastName: 'Lovelace',
      email: `ada.${driverId.slice(0, 8)}@example.com`,
      phone: '+1 555 0100',
      activatedAt: new Date().toISOString(),
      version: 2,
    },
    { source: 'driver', subject: driverId, correlationId: randomUUID() },
  );
}

/** The settings a messaging component reads, short retries, everything else as deployed. */
export function messagingConfig(databaseUrl: string, amqpUrl: string) {
  return {
    DATABASE_URL: databaseUrl,
    AMQP_URL: amqpUrl,
    RETRY_DELAYS_MS: '200,400',
    INBOX_RETENTION_MS: 7 * 24 * 3600_000,
    OUTBOX_RETENTION_MS: 24 * 3600_000,
    MESSAGE_DELIVERY_LIMIT: 5,
    PARKED_RETENTION: '30d',
    PARKED_PERSONAL_DATA_RETENTION: '7d',
  };
}
