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
  /** Live streams one instance keeps open; one more is answered 503 (each holds a socket and a buffer). */
  STREAM_MAX_OPEN: Type.Integer({ minimum: 1, maximum: 10_000, default: 200 }),
  /** Live streams one caller (the gateway's `x-auth-subject`) may hold open on one instance; one more is answered 429. */
  STREAM_MAX_PER_SUBJECT: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  /** Bytes a stream may have waiting for a reader that does not read; past that the reader is dropped (it resumes with Last-Event-ID). */
  STREAM_BUFFER_BYTES: Type.Integer({ minimum: 16 * 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
});
export type NotificationConfig = Static<typeof NotificationEnv>;

export function adminRecipients(config: NotificationConfig): string[] {
  return [...new Set(config.ADMIN_RECIPIENTS.split(',').map((address) => address.trim().toLowerCase()))];
}
