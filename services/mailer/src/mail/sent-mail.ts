import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

export type SentMailStatus = 'SENDING' | 'SENT' | 'ERASED';

/**
 * The log of mails, one row per driver and template. The row is claimed before the SMTP call and marked
 * SENT after it, so two deliveries of the same event can never both send.
 */
export class SentMail {
  id: string = randomUUID();
  driverId: string;
  template: string;
  recipient: string;
  status: SentMailStatus = 'SENDING';
  smtpMessageId: string | null = null;
  attempts = 0;
  claimedAt: Date = new Date();
  sentAt: Date | null = null;

  constructor(driverId: string, template: string, recipient: string) {
    this.driverId = driverId;
    this.template = template;
    this.recipient = recipient;
  }

  /**
   * Erasure: the row keeps the driver id, the template and what happened, and forgets the address. ERASED also
   * means "never send": a copy of the activation arriving later finds it and sends nothing.
   */
  erase(): void {
    this.recipient = '';
    this.status = 'ERASED';
  }

  /** The log row of a mail never sent to a driver now erased: it stops a late activation from sending one. */
  static erasedBeforeSending(driverId: string, template: string): SentMail {
    const mail = new SentMail(driverId, template, '');
    mail.erase();
    return mail;
  }

  /** Nothing more may be sent for this row: sent already, or the driver was erased. */
  isSettled(): boolean {
    return this.status === 'SENT' || this.status === 'ERASED';
  }

  /** True when another delivery holds a fresh claim on this send. */
  isClaimedByOther(now: Date, claimTtlMs: number): boolean {
    return this.status === 'SENDING' && this.attempts > 0 && now.getTime() - this.claimedAt.getTime() < claimTtlMs;
  }

  claim(now: Date): void {
    this.attempts += 1;
    this.claimedAt = now;
  }

  /** The send failed before SMTP accepted it: let the next delivery claim it at once. */
  release(): void {
    this.claimedAt = new Date(0);
  }

  markSent(smtpMessageId: string, now: Date): void {
    this.status = 'SENT';
    this.smtpMessageId = smtpMessageId;
    this.sentAt = now;
  }
}

export const SentMailSchema = new EntitySchema<SentMail>({
  class: SentMail,
  tableName: 'sent_mail',
  uniques: [{ properties: ['driverId', 'template'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    driverId: { type: 'uuid' },
    template: { type: 'string' },
    recipient: { type: 'string' },
    status: { type: 'string' },
    smtpMessageId: { type: 'string', nullable: true },
    attempts: { type: 'integer' },
    claimedAt: { type: 'Date' },
    sentAt: { type: 'Date', nullable: true },
  },
});
