import { MailerDriverDataErasedV1, NotificationDriverDataErasedV1 } from '@onboarding/contracts';
import { decodeMessage } from '@onboarding/messaging';
import { consumerPact, match } from '@onboarding/test-infra';
import { onMailerDriverDataErased, onNotificationDriverDataErased } from '../src/erasure/on-driver-data-erased';

/** The driver service needs each service's erasure confirmation, to complete the audit record (identity's is with identity's events). */
const confirmation = {
  driverId: match.uuid('65028c56-0807-4e6a-980c-62454c3758a7'),
  erasedAt: match.timestamp('2026-11-21T07:00:01.000Z'),
  removedMessages: match.integer(1),
};

describe('driver consumes the erasure confirmations of the mailer and the notification service (Pact)', () => {
  for (const [provider, contract, handler] of [
    ['mailer', MailerDriverDataErasedV1, onMailerDriverDataErased],
    ['notification', NotificationDriverDataErasedV1, onNotificationDriverDataErased],
  ] as const) {
    const pact = consumerPact('driver', provider, (body) => {
      const decoded = decodeMessage(body, [handler.contract]);
      if (!decoded.ok) throw new Error(`driver would park it: ${decoded.reason}: ${decoded.error}`);
    });
    it(contract.routingKey, () => pact.receives(`${provider} erased what it kept about an erased driver`, contract, confirmation));
  }
});
