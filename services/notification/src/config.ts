import { Type, type Static } from '@sinclair/typebox';
import { service } from '@onboarding/contracts';
import { serviceEnv } from '@onboarding/service-kit';

export const NOTIFICATION = service('notification');

export const NotificationEnv = Type.Object({
  ...serviceEnv(NOTIFICATION),
  /** Comma-separated admin addresses; each gets one notification per event. Synced into the recipients table at start. */
  ADMIN_RECIPIENTS: Type.String({
    pattern: '^\\s*[^\\s@,]+@[^\\s@,]+(\\s*,\\s*[^\\s@,]+@[^\\s@,]+)*\\s*$',
    default: 'admin@fleet.local',
  }),
  CONSUMER_PREFETCH: Type.Integer({ minimum: 1, maximum: 1000, default: 32 }),
});
export type NotificationConfig = Static<typeof NotificationEnv>;

export function adminRecipients(config: NotificationConfig): string[] {
  return [...new Set(config.ADMIN_RECIPIENTS.split(',').map((address) => address.trim().toLowerCase()))];
}
