import { MailWelcomeSentV1, NotificationAdminsNotifiedV1, allEvents } from '@onboarding/contracts';
import { decodeMessage } from '@onboarding/messaging';
import { consumerPact, match } from '@onboarding/test-infra';
import { auditHandlers } from '../src/audit/on-every-event';

/**
 * What operations needs of the events the mailer and the notification service publish about what they did: the
 * driver they concern (to place them on the driver's timeline) and what the timeline shows (attempts, the
 * notification type and count). Decoded as a delivery would be, with operations' own handlers.
 */
const contracts = auditHandlers().map((handler) => handler.contract);
function decodes(body: string) {
  const decoded = decodeMessage(body, contracts);
  if (!decoded.ok) throw new Error(`operations would park it: ${decoded.reason}: ${decoded.error}`);
}
const driverId = match.uuid('65028c56-0807-4e6a-980c-62454c3758a7');

describe('operations audits every event of the catalog', () => {
  it('has a handler for every routing key', () => {
    expect(contracts.map((contract) => contract.routingKey).sort()).toEqual(allEvents.map((contract) => contract.routingKey).sort());
  });
});

describe('operations consumes the mailer events (Pact)', () => {
  const pact = consumerPact('operations', 'mailer', decodes);
  it(MailWelcomeSentV1.routingKey, () =>
    pact.receives('a welcome mail was sent', MailWelcomeSentV1, {
      driverId,
      messageId: match.like('<welcome.65028c56-0807-4e6a-980c-62454c3758a7@onboarding.local>'),
      language: match.like('en'),
      sentAt: match.timestamp('2026-11-21T06:29:00.000Z'),
      attempts: match.integer(1),
    }),
  );
});

describe('operations consumes the notification events (Pact)', () => {
  const pact = consumerPact('operations', 'notification', decodes);
  it(NotificationAdminsNotifiedV1.routingKey, () =>
    pact.receives('the admins were notified about a driver', NotificationAdminsNotifiedV1, {
      driverId,
      notificationType: match.like('driver.activated'),
      notificationIds: match.like(['b342939b-0f1d-4ea8-b7ec-8167c77224e1']),
      recipientCount: match.integer(1),
      notifiedAt: match.timestamp('2026-11-21T06:29:00.000Z'),
    }),
  );
});
