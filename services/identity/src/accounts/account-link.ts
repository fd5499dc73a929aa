import { EntitySchema } from '@mikro-orm/core';
import type { AccountView } from '@onboarding/contracts';

/** Which directory account belongs to which driver: identity's own record of the saga's step 2. */
export class AccountLink {
  driverId: string;
  objectId: string;
  provider: string;
  /** Version of the driver whose details the account holds; older updates are ignored. */
  driverVersion: number;
  createdAt: Date = new Date();
  /** Set when the account was deleted; the link stays so a late copy of the registration creates nothing. */
  deletedAt: Date | null = null;

  constructor(driverId: string, objectId: string, provider: string, driverVersion: number) {
    this.driverId = driverId;
    this.objectId = objectId;
    this.provider = provider;
    this.driverVersion = driverVersion;
  }

  isDeleted(): boolean {
    return this.deletedAt !== null;
  }

  /** True when an update at `version` would move the account forward (not stale, not a duplicate). */
  acceptsVersion(version: number): boolean {
    return !this.isDeleted() && version > this.driverVersion;
  }

  markDeleted(now = new Date()): void {
    this.deletedAt ??= now;
  }

  toView(): AccountView {
    return { driverId: this.driverId, objectId: this.objectId, provider: this.provider, createdAt: this.createdAt.toISOString() };
  }
}

export const AccountLinkSchema = new EntitySchema<AccountLink>({
  class: AccountLink,
  tableName: 'account_link',
  properties: {
    driverId: { type: 'uuid', primary: true },
    objectId: { type: 'string', unique: true },
    provider: { type: 'string' },
    driverVersion: { type: 'integer' },
    createdAt: { type: 'Date' },
    deletedAt: { type: 'Date', nullable: true },
  },
});
