import { DriverRegisteredV1, DriverRegisteredV2 } from '@onboarding/contracts';
import { messaging, messagingTables, waitingMessagesOf } from '@onboarding/messaging';
import { RemoteCallBreaker, defineService } from '@onboarding/service-kit';
import { MAILER, MailerEnv } from './config';
import { onDriverErased } from './erasure/on-driver-erased';
import { onDriverActivated } from './mail/on-driver-activated';
import { SentMailSchema } from './mail/sent-mail';
import { SmtpMailer, isAboutThisMail } from './mail/smtp-mailer';
import { migrations } from './migrations';

/** The composition root: what the mailer service is; the chassis wires and runs it. */
export const mailerService = defineService({
  entry: MAILER,
  env: MailerEnv,
  database: { entities: [SentMailSchema], migrations, modules: [messagingTables] },
  compose: (context) => {
    const { config, logger } = context;
    const mailer = new SmtpMailer(config.SMTP_URL, config.MAIL_FROM);
    const breaker = new RemoteCallBreaker('smtp', logger, {
      timeoutMs: 30_000,
      resetTimeoutMs: config.SMTP_BREAKER_RESET_MS,
      isHealthyFailure: isAboutThisMail,
    });
    const handlers = [onDriverActivated(mailer, breaker, config.MAIL_CLAIM_TTL_MS), onDriverErased(waitingMessagesOf(context))];
    return {
      components: [
        messaging(context, {
          handlers,
          publishes: true, // its erasure confirmations
          // Mailers up to 0.3 bound driver.registered to learn the language; driver.activated carries it now.
          retiredRoutingKeys: [DriverRegisteredV1.routingKey, DriverRegisteredV2.routingKey],
          prefetch: config.CONSUMER_PREFETCH,
        }),
      ],
      breakers: [breaker],
      onStop: async () => mailer.close(),
    };
  },
});
