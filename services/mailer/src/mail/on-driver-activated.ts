import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { DEFAULT_LANGUAGE, DriverActivatedV1 } from '@onboarding/contracts';
import { PermanentMessageError, TransientMessageError, handlerFor } from '@onboarding/messaging';
import { BreakerOpenError, type RemoteCallBreaker } from '@onboarding/service-kit';
import { mailEvents } from './outgoing-events';
import type { SentMailStatus } from './sent-mail';
import { smtpFailureOf, type SmtpMailer } from './smtp-mailer';
import { WELCOME_TEMPLATE, renderWelcomeMail } from './welcome-mail';

type ClaimOutcome = 'send' | 'already-sent' | { claimedForMs: number };

/**
 * Claims the send in the mail log in one statement (autocommit, one round trip): inserts the row, or takes over
 * one that is still SENDING and whose claim is older than the TTL (a delivery that died mid-send, or a released
 * one). ON CONFLICT DO UPDATE locks the row as SELECT … FOR UPDATE did, so two deliveries cannot both claim it.
 * When the row was neither inserted nor taken, the same statement reads why: sent (or erased), or claimed by
 * another delivery, and until when.
 */
async function claimSend(em: EntityManager, schema: string, driverId: string, email: string, claimTtlMs: number): Promise<ClaimOutcome> {
  const now = new Date();
  const table = `"${schema}"."sent_mail"`;
  const rows = (await em.getConnection().execute(
    `with "claim" as (
       insert into ${table} as m ("id", "driver_id", "template", "recipient", "status", "smtp_message_id", "attempts", "claimed_at", "sent_at")
       values (?, ?, ?, ?, 'SENDING', null, 1, ?, null)
       on conflict ("driver_id", "template") do update set "attempts" = m."attempts" + 1, "claimed_at" = excluded."claimed_at"
         where m."status" = 'SENDING' and not (m."attempts" > 0 and m."claimed_at" > ?)
       returning 1)
     select exists (select from "claim") as "claimed", m."status", m."claimed_at"
       from (select 1) as one left join ${table} as m on m."driver_id" = ? and m."template" = ?`,
    [randomUUID(), driverId, WELCOME_TEMPLATE, email, now, new Date(now.getTime() - claimTtlMs), driverId, WELCOME_TEMPLATE],
  )) as { claimed: boolean; status: SentMailStatus | null; claimed_at: Date | string | null }[];
  const row = rows[0];
  if (row?.claimed) return 'send';
  if (row?.status === 'SENT' || row?.status === 'ERASED') return 'already-sent'; // sent, or the driver was erased since
  // Claimed by another delivery; a row its statement's snapshot does not show yet is a claim that just began.
  const claimedAt = row?.claimed_at ? new Date(row.claimed_at).getTime() : now.getTime();
  return { claimedForMs: Math.max(1, claimTtlMs - (now.getTime() - claimedAt)) };
}

/**
 * Sends the welcome mail once per driver: claim the send in the mail log, call SMTP outside any
 * transaction, then mark it SENT together with the inbox record and `mail.welcome-sent` in the outbox (so the
 * event says exactly what the log says: one per mail, whatever the number of deliveries). Claim, release and the
 * final commit are one statement each.
 */
export function onDriverActivated(mailer: SmtpMailer, breaker: RemoteCallBreaker, claimTtlMs: number) {
  return handlerFor(DriverActivatedV1, async (event, context) => {
    const { driverId, email } = event.data;
    const table = `"${context.schema}"."sent_mail"`;
    const outcome = await claimSend(context.em, context.schema, driverId, email, claimTtlMs);
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
      // Lets the next delivery claim it at once (SentMail.release).
      await context.em
        .getConnection()
        .execute(`update ${table} set "claimed_at" = ? where "driver_id" = ? and "template" = ?`, [new Date(0), driverId, WELCOME_TEMPLATE], 'run');
      if (err instanceof BreakerOpenError) throw new TransientMessageError(err.message, err.retryAfterMs);
      const failure = smtpFailureOf(err);
      // A refused recipient or message is parked with what failed and no address; the rest waits for the relay.
      if (failure.permanent) throw new PermanentMessageError(failure.description, 'smtp-refused');
      throw new TransientMessageError(failure.description);
    }
    const sentAt = new Date();
    await context.commitInOneStatement({
      effects: [
        {
          name: 'sent',
          sql: `update ${table} set "status" = 'SENT', "smtp_message_id" = ?, "sent_at" = ? where "driver_id" = ? and "template" = ? returning "attempts"`,
          params: [smtpMessageId, sentAt, driverId, WELCOME_TEMPLATE],
          requireRows: true,
        },
      ],
      events: [
        {
          // The attempts the log row counts, as the statement finds them (validated with at least one).
          event: mailEvents.welcomeSent(driverId, smtpMessageId, language, sentAt, 1),
          options: context.causedBy(driverId),
          dataFromEffects: { attempts: `select to_jsonb("attempts") from "sent"` },
        },
      ],
    });
  });
}
