import { Type, type Static } from '@sinclair/typebox';
import { service } from '@onboarding/contracts';
import { developmentDefault, serviceEnv } from '@onboarding/service-kit';

export const MAILER = service('mailer');

export const MailerEnv = Type.Object({
  ...serviceEnv(MAILER),
  /** SMTP relay, e.g. smtp://user:pass@mail.example.com:587 (smtps:// for implicit TLS). */
  SMTP_URL: developmentDefault(Type.String({ pattern: '^smtps?://', default: 'smtp://127.0.0.1:1025' }), 'the local mail catcher'),
  MAIL_FROM: Type.String({ minLength: 3, default: 'Fleet Onboarding <onboarding@fleet.local>' }),
  /** How long a send may stay claimed by one instance before another may take it over. */
  MAIL_CLAIM_TTL_MS: Type.Integer({ minimum: 1000, default: 15_000 }),
  SMTP_BREAKER_RESET_MS: Type.Integer({ minimum: 100, default: 15_000 }),
  CONSUMER_PREFETCH: Type.Integer({ minimum: 1, maximum: 1000, default: 16 }),
});
export type MailerConfig = Static<typeof MailerEnv>;
