import { randomUUID } from 'node:crypto';
import { EntitySchema, type MikroORM } from '@mikro-orm/core';

/** An admin who is told about registrations. */
export class Recipient {
  id: string = randomUUID();
  address: string;
  active = true;
  createdAt: Date = new Date();

  constructor(address: string) {
    this.address = address;
  }
}

export const RecipientSchema = new EntitySchema<Recipient>({
  class: Recipient,
  tableName: 'recipient',
  properties: {
    id: { type: 'uuid', primary: true },
    address: { type: 'string', unique: true },
    active: { type: 'boolean' },
    createdAt: { type: 'Date' },
  },
});

/** Makes the configured admins the active recipients: new ones are added, removed ones deactivated (history kept). */
export async function syncRecipients(orm: MikroORM, addresses: string[]): Promise<void> {
  const em = orm.em.fork();
  await em.transactional(async (tx) => {
    const existing = await tx.find(Recipient, {});
    const wanted = new Set(addresses);
    for (const recipient of existing) recipient.active = wanted.has(recipient.address);
    const known = new Set(existing.map((recipient) => recipient.address));
    for (const address of addresses) if (!known.has(address)) tx.persist(new Recipient(address));
  });
}
