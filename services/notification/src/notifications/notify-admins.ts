import { randomUUID } from 'node:crypto';
import { type MessageContext } from '@onboarding/messaging';
import type { ActiveRecipients } from './active-recipients';
import type { NotificationType } from './notification';
import { notificationEvents } from './outgoing-events';

/**
 * Stores one notification per active admin with the inbox record, in one statement and one round trip
 * (`commitInOneStatement`). The inbox makes a redelivery a no-op; another event about the same driver and type
 * (a second copy published under another message id) is absorbed by the unique key (recipient, type, driver) with
 * ON CONFLICT DO NOTHING, rather than by reading what exists first. When it stored any,
 * `notification.admins-notified` goes to the outbox in the same statement, with the ids and the count the insert
 * returned filled in by the statement itself, so the event is published exactly when the notifications exist.
 */
export async function notifyAdmins(
  context: MessageContext,
  recipients: ActiveRecipients,
  type: NotificationType,
  driverId: string,
  message: string,
): Promise<void> {
  const ids = await recipients.ids(context.em);
  if (ids.length === 0) return; // the consumer records the message alone
  const createdAt = new Date();
  const rows = ids.map((recipient) => ({ id: randomUUID(), recipient }));
  await context.commitInOneStatement({
    effects: [
      {
        name: 'notified',
        sql: `insert into "${context.schema}"."notification" ("id", "recipient_id", "type", "driver_id", "message", "created_at", "read_at")
          values ${rows.map(() => '(?, ?, ?, ?, ?, ?, null)').join(', ')}
          on conflict ("recipient_id", "type", "driver_id") do nothing returning "id"`,
        params: rows.flatMap((row) => [row.id, row.recipient, type, driverId, message, createdAt]),
      },
    ],
    events: [
      {
        // Validated with every id it may name; the statement keeps those the insert stored.
        event: notificationEvents.adminsNotified(
          driverId,
          type,
          rows.map((row) => row.id),
        ),
        options: context.causedBy(driverId),
        onlyIf: 'notified',
        dataFromEffects: {
          notificationIds: `select jsonb_agg("id") from "notified"`,
          recipientCount: `select to_jsonb(count(*)) from "notified"`,
        },
      },
    ],
  });
}
