import { Type, type Static } from '@sinclair/typebox';
import { BaseServiceEnv, Port, loadConfig } from '@onboarding/service-kit';

export const NotificationEnv = Type.Object({
  ...BaseServiceEnv,
  PORT: Port(8084),
  NOTIFICATION_DB_SCHEMA: Type.String({ pattern: '^[a-z_][a-z0-9_]*$', default: 'notification' }),
  /** Comma-separated admin addresses; each gets one notification per event. Synced into the recipients table at start. */
  ADMIN_RECIPIENTS: Type.String({
    pattern: '^\\s*[^\\s@,]+@[^\\s@,]+(\\s*,\\s*[^\\s@,]+@[^\\s@,]+)*\\s*$',
    default: 'admin@fleet.local',
  }),
  CONSUMER_PREFETCH: Type.Integer({ minimum: 1, maximum: 1000, default: 32 }),
});
export type NotificationConfig = Static<typeof NotificationEnv>;

export const loadNotificationConfig = (env: NodeJS.ProcessEnv = process.env): NotificationConfig =>
  loadConfig(NotificationEnv, env);

export function adminRecipients(config: NotificationConfig): string[] {
  return [...new Set(config.ADMIN_RECIPIENTS.split(',').map((address) => address.trim().toLowerCase()))];
}
