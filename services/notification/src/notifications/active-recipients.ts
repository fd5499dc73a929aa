import type { EntityManager } from '@mikro-orm/core';
import { Recipient } from './recipient';

/** How long the list of active admins is reused before it is read again. */
export const RECIPIENTS_TTL_MS = 30_000;

/**
 * The active admins, read from the database at most once per `ttlMs` instead of once per notification: they
 * change only when an instance starts with a different ADMIN_RECIPIENTS (syncRecipients), so re-reading them
 * for every driver event was a round trip per registration spent on an answer that almost never changes. Its
 * size is bounded by the configured admins; an instance applies its own configuration before the first read,
 * and a change made by another instance reaches this one within `ttlMs` (a removed admin may get notifications
 * for up to that long).
 */
export class ActiveRecipients {
  private cached?: { ids: readonly string[]; until: number };

  constructor(
    private readonly ttlMs = RECIPIENTS_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The active recipients' ids, read through `em` when the cached list is missing or older than the TTL. */
  async ids(em: EntityManager): Promise<readonly string[]> {
    if (this.cached && this.now() < this.cached.until) return this.cached.ids;
    const recipients = await em.find(Recipient, { active: true }, { fields: ['id'] });
    const ids = recipients.map((recipient) => recipient.id);
    this.cached = { ids, until: this.now() + this.ttlMs };
    return ids;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}
