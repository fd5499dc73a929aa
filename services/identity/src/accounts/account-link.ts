import { EntitySchema } from '@mikro-orm/core';
import type { AccountView } from '@onboarding/contracts';

/** Which directory account belongs to which driver: identity's own record of the saga's step 2. */
export class AccountLink {
  driverId: string;
  objectId: string;
  provider: string;
  createdAt: Date = new Date();

  constructor(driverId: string, objectId: string, provider: string) {
    this.driverId = driverId;
    this.objectId = objectId;
    this.provider = provider;
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
    createdAt: { type: 'Date' },
  },
});
