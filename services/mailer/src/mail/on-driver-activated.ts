import { LockMode } from '@mikro-orm/core';
import { DEFAULT_LANGUAGE, DriverActivatedV1 } from '@onboarding/contracts';
import { PermanentMessageError, TransientMessageError, handlerFor } from '@onboarding/messaging';
import { BreakerOpenError, type RemoteCallBreaker } from '@onboarding/service-kit';
import { SentMail } from './sent-mail';
import type { SmtpMailer } from './smtp-mailer';
import { WELCOME_TEMPLATE, renderWelcomeMail } from './welcome-mail';

type ClaimOutcome = 'send' | 'already-sent' | { claimedForMs: number };

/**
 * Sends the welcome mail once per driver: claim the send in the mail log, call SMTP outside any
 * transaction, then mark it SENT together with the inbox record.
 */
export function onDriverActivated(mailer: SmtpMailer, breaker: RemoteCallBreaker, claimTtlMs: number) {
  return handlerFor(DriverActivatedV1, async (event, context) => {
    const { driverId, email } = event.data;
    const outcome = await context.em.transactional(async (em): Promise<ClaimOutcome> => {
      const now = new Date();
      let mail = await em.findOne(SentMail, { driverId, template: WELCOME_TEMPLATE }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (mail?.isSettled()) return 'already-sent'; // sent, or the driver was erased since
      if (mail?.isClaimedByOther(now, claimTtlMs)) {
        return { claimedForMs: claimTtlMs - (now.getTime() - mail.claimedAt.getTime()) };
      }
      if (!mail) {
        mail = new SentMail(driverId, WELCOME_TEMPLATE, email);
        em.persist(mail);
      }
      mail.claim(now);
      return 'send';
    });
    if (outcome === 'already-sent') return;
    if (typeof outcome === 'object') {
      throw new TransientMessageError('another delivery is sending this mail', outcome.claimedForMs);
    }

    // A producer from before the field was added leaves it out: such drivers get the default language.
    const language = event.data.preferredLanguage ?? DEFAULT_LANGUAGE;
    let smtpMessageId: string;
    try {
      smtpMessageId = await breaker.call(() =>
        mailer.send({
          to: email,
          messageId: `<${WELCOME_TEMPLATE}.${driverId}@onboarding.local>`,
          ...renderWelcomeMail(event.data, language),
        }),
      );
    } catch (err) {
      await context.em.fork().transactional(async (em) => {
        const mail = await em.findOneOrFail(SentMail, { driverId, template: WELCOME_TEMPLATE });
        mail.release();
      });
      if (err instanceof BreakerOpenError) throw new TransientMessageError(err.message, err.retryAfterMs);
      if (isSmtpRefusal(err)) {
        throw new PermanentMessageError(`SMTP refused the welcome mail: ${(err as Error).message}`, 'smtp-refused');
      }
      throw new TransientMessageError(`SMTP unavailable: ${(err as Error).message}`);
    }
    await context.commit(async (em) => {
      const mail = await em.findOneOrFail(SentMail, { driverId, template: WELCOME_TEMPLATE });
      mail.markSent(smtpMessageId, new Date());
    });
  });
}

/** 5xx is the server's final word on this message (unknown mailbox, policy); anything else may pass later. */
export function isSmtpRefusal(err: unknown): boolean {
  const responseCode = (err as { responseCode?: number }).responseCode;
  return responseCode !== undefined && responseCode >= 500;
}
